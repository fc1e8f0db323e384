"""After every succeeded charge the owner gets a receipt by e-mail with the invoice's PDF
(terms §4); a failed charge sends none."""

import datetime
import io

from django.core import mail as django_mail
from pypdf import PdfReader

from saruna.billing import actions, methods
from saruna.billing.gateways.offline import DECLINED_CARD
from tests.billing.conftest import invoices


def pdf_text(content):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_every_paid_invoice_brings_a_receipt_with_its_pdf(paying, clock, committed):
    account = paying(cycle="annual", seats=3)  # 3 * 390.00 + 21 % VAT = 1,415.70
    [receipt] = django_mail.outbox
    [invoice] = invoices(account)
    assert receipt.to == ["owner@acme.test"]
    assert receipt.subject == f"Receipt for invoice {invoice.number}"
    for line in ("Hello Līga,", f"Invoice: {invoice.number}", "Amount paid: 1,415.70 USD",
                 "Paid on: 1 January 2026", "Paid with: Test card •••• 4242"):
        assert line in receipt.body
    [(filename, content, content_type)] = receipt.attachments
    assert (filename, content_type) == (f"{invoice.number}.pdf", "application/pdf")
    text = pdf_text(content)
    assert invoice.number in text and "1,415.70" in text and "Acme SIA" in text

    clock.move_to(datetime.datetime(2026, 3, 10, 10, tzinfo=datetime.UTC))
    # 2 seats for 297 of 365 days: 634.68 + 21 % VAT 133.28 = 767.96, charged: a 2nd receipt.
    committed(actions.set_seats, account, 5)
    second = invoices(account)[-1]
    assert django_mail.outbox[-1].subject == f"Receipt for invoice {second.number}"
    assert "Amount paid: 767.96 USD" in django_mail.outbox[-1].body
    assert second.number in pdf_text(django_mail.outbox[-1].attachments[0][1])


def test_a_failed_charge_sends_no_receipt(customer, all_inclusive, committed):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    committed(methods.confirm_setup, customer, "card", DECLINED_CARD)
    assert [mail.subject for mail in django_mail.outbox] == [
        f"The payment of invoice {invoices(customer)[0].number} failed"]
    assert all(not mail.attachments for mail in django_mail.outbox)


def test_a_renewal_charged_by_the_periodic_job_brings_a_receipt(
    paying, clock, django_capture_on_commit_callbacks
):
    from django_scopes import scope

    from saruna.billing.tasks import run_billing_jobs

    account = paying(cycle="monthly", seats=1)
    clock.move_to(datetime.datetime(2026, 2, 1, 12, tzinfo=datetime.UTC))
    # As the worker runs it: in no account's scope, the commit after the job's own scope.
    with scope(account=None), django_capture_on_commit_callbacks(execute=True):
        run_billing_jobs.call_local()
    renewal = invoices(account)[-1]
    assert len(invoices(account)) == 2
    assert django_mail.outbox[-1].subject == f"Receipt for invoice {renewal.number}"
