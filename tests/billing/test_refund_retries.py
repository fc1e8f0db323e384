"""A prepaid refund the gateway refuses is sent again with the outbox's backoff, and after
the last attempt stays failed on the provider's billing page (the offline gateway refuses it
on request)."""

import datetime

import pytest
from django_scopes import scopes_disabled

from saruna.billing import actions, prepaid
from saruna.billing.gateways.offline import fail_next_refunds
from saruna.billing.models import Refund
from saruna.billing.tasks import retry_failed_refunds

T = datetime.datetime


def _refund(refund_id):
    with scopes_disabled():
        return Refund.objects.get(pk=refund_id)


@pytest.fixture
def cancelled_with_credit(paying, clock, committed):
    """``cancel(failures)``: the gateway refuses the next ``failures`` refunds, then the
    customer leaves with unused prepaid credit; returns the refund's id."""

    def cancel(failures):
        account = paying(cycle="monthly", seats=1)
        clock.move_to(T(2026, 1, 10, 10, tzinfo=datetime.UTC))
        committed(prepaid.add_prepaid_credit, account, "390.00")
        fail_next_refunds(account, failures)
        committed(actions.cancel, account)
        return Refund.objects.get().pk

    return cancel


def test_a_refused_refund_is_retried_after_its_backoff_and_goes_through(
    cancelled_with_credit, clock
):
    refund_id = cancelled_with_credit(2)
    refund = _refund(refund_id)
    assert (refund.status, refund.attempts) == (Refund.Status.FAILED, 1)
    assert refund.failure_message == "The refund was refused."
    assert refund.next_attempt_at == T(2026, 1, 10, 10, 1, tzinfo=datetime.UTC)  # 1 minute

    retry_failed_refunds.call_local()  # not due yet
    assert _refund(refund_id).attempts == 1

    clock.move_to(T(2026, 1, 10, 10, 1, tzinfo=datetime.UTC))
    retry_failed_refunds.call_local()
    refund = _refund(refund_id)
    assert (refund.status, refund.attempts) == (Refund.Status.FAILED, 2)
    assert refund.next_attempt_at == T(2026, 1, 10, 10, 3, tzinfo=datetime.UTC)  # 2 more

    clock.move_to(T(2026, 1, 10, 10, 3, tzinfo=datetime.UTC))
    retry_failed_refunds.call_local()
    refund = _refund(refund_id)
    assert (refund.status, refund.attempts) == (Refund.Status.SUCCEEDED, 3)
    assert refund.reference == f"offline_re_saruna-refund-{refund_id}"
    assert refund.next_attempt_at is None and refund.failure_message == ""


def test_after_the_last_attempt_the_refund_stays_failed_for_the_provider(
    cancelled_with_credit, clock, staff_client
):
    refund_id = cancelled_with_credit(prepaid.REFUND_ATTEMPTS)
    for _ in range(prepaid.REFUND_ATTEMPTS):
        clock.shift(datetime.timedelta(hours=2))  # past every backoff (64 minutes at most)
        retry_failed_refunds.call_local()
    refund = _refund(refund_id)
    assert (refund.status, refund.attempts) == (Refund.Status.FAILED, prepaid.REFUND_ATTEMPTS)
    assert refund.next_attempt_at is None

    clock.shift(datetime.timedelta(days=1))
    retry_failed_refunds.call_local()
    assert _refund(refund_id).attempts == prepaid.REFUND_ATTEMPTS  # no more attempts

    page = staff_client.get("/provider/billing/").content.decode()
    assert "Failed refunds" in page
    assert "235.95 USD" in page and "The refund was refused." in page
    assert "None left: refund it by hand" in page


def test_the_provider_page_says_when_no_refund_failed(db, staff_client):
    assert "No refund has failed." in staff_client.get("/provider/billing/").content.decode()
