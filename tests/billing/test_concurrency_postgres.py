"""Parallel writers on PostgreSQL: invoice numbers stay gapless and unique when documents
are finalised at once, and an invoice collected by several workers at once is charged once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django_scopes import scope

from saruna.billing import documents, payments
from saruna.billing.documents import LineDraft
from saruna.billing.models import DocumentLine, Payment, PaymentMethod
from tests.factories import make_account

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
WORKERS = 12


def in_parallel(work, count=WORKERS):
    """Run ``work(index)`` in ``count`` threads released at the same moment, each on its own
    database connection."""
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


class Abandoned(Exception):
    pass


def test_parallel_finalisations_get_gapless_numbers():
    account = make_account("parallel")
    line = LineDraft(item=DocumentLine.Item.PLAN, description="Seat", quantity=1,
                     unit_cents=3900)

    def finalise(index):
        with scope(account=account):
            try:
                with transaction.atomic():
                    invoice = documents.issue_invoice(account, [line], currency="USD")
                    if index % 3 == 0:  # a third of the writers roll back after numbering
                        raise Abandoned
                    return invoice.number
            except Abandoned:
                return None

    numbers = [number for number in in_parallel(finalise) if number is not None]
    year = documents.seller_today().year
    assert sorted(numbers) == [f"INV-{year}-{n:06d}" for n in range(1, len(numbers) + 1)]
    assert len(numbers) == WORKERS - len(range(0, WORKERS, 3))


def test_an_invoice_collected_by_many_workers_at_once_is_charged_once():
    account = make_account("collect")
    with scope(account=account):
        PaymentMethod.objects.create(account=account, gateway="offline", kind="card",
                                     reference="offline_pm_4242424242424242", label="card")
        invoice = documents.issue_invoice(
            account, [LineDraft(item=DocumentLine.Item.PLAN, description="Seat", quantity=1,
                                unit_cents=3900)], currency="USD")

    def collect(index):
        with scope(account=account):
            return len(payments.collect_due(account))

    assert sum(in_parallel(collect)) == 1
    with scope(account=account):
        assert list(Payment.objects.values_list("invoice", "attempt", "status")) == [
            (invoice.pk, 1, "succeeded")]
