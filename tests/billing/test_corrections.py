"""Billing-detail corrections (terms §4): within 15 days after the last invoice, in the
account's time zone, a credit note and a re-issued invoice; later, refused."""

import datetime

import pytest

from saruna.billing import actions
from saruna.billing.models import BillingDocument, BillingProfile
from saruna.core.models import Account
from tests.billing.conftest import invoices, paid_cents


def on_day(clock, day, hour=12):
    """``day`` days after the first invoice (1 January)."""
    clock.move_to(datetime.datetime(2026, 1, 1 + day, hour, tzinfo=datetime.UTC))


def test_a_correction_on_day_10_credits_and_reissues_with_the_same_amounts(
    paying, clock, committed
):
    account = paying(cycle="annual", seats=3)
    [original] = invoices(account)
    on_day(clock, 10)
    correction = committed(actions.correct_billing_details, account, company="Acme Baltic SIA",
                           address_lines=["Elizabetes iela 2", "Rīga, LV-1010"])
    note, reissued = correction.credit_note, correction.invoice
    assert note.kind == BillingDocument.Kind.CREDIT_NOTE and note.credits == original
    assert note.number == "CN-2026-000001" and reissued.number == "INV-2026-000002"
    assert note.buyer["company"] == "Acme SIA"  # the credit note cancels what was invoiced
    assert reissued.replaces == original
    assert reissued.buyer["company"] == "Acme Baltic SIA"
    assert reissued.buyer["address_lines"] == ["Elizabetes iela 2", "Rīga, LV-1010"]
    for document in (note, reissued):
        assert (document.subtotal_cents, document.tax_cents, document.total_cents) == (
            original.subtotal_cents, original.tax_cents, original.total_cents)
        assert [(line.description, line.amount_cents, line.period_start, line.period_end)
                for line in document.lines.all()] == [
            (line.description, line.amount_cents, line.period_start, line.period_end)
            for line in original.lines.all()]
    # The re-issued invoice is settled by the original's payment: nothing is charged again.
    assert paid_cents(account) == original.total_cents


def test_day_15_is_the_last_day_and_day_16_is_refused(paying, clock, committed):
    account = paying(cycle="monthly", seats=1)
    on_day(clock, 15, hour=23)
    assert committed(actions.correct_billing_details, account, company="Day 15 SIA").invoice
    on_day(clock, 16)
    refused = committed(actions.correct_billing_details, account, company="Day 16 SIA")
    assert refused.credit_note is None and refused.invoice is None
    assert "can no longer be corrected" in refused.refused
    assert "apply from the next invoice" in refused.refused
    # The new details are kept for the next invoice.
    assert BillingProfile.objects.get(account=account).company == "Day 16 SIA"
    clock.move_to(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    assert invoices(account)[-1].buyer["company"] == "Day 16 SIA"


def test_correcting_again_does_not_move_the_15_days(paying, clock, committed):
    account = paying(cycle="monthly", seats=1)
    on_day(clock, 10)
    committed(actions.correct_billing_details, account, company="First SIA")
    on_day(clock, 16)
    assert committed(actions.correct_billing_details, account, company="Second SIA").refused


def test_the_15_days_are_counted_in_the_accounts_time_zone(paying, clock, committed):
    account = paying(cycle="monthly", seats=1)  # invoiced 1 Jan 10:00 UTC
    Account.objects.filter(pk=account.pk).update(time_zone="America/Los_Angeles")  # UTC-8
    account.refresh_from_db()
    # The invoice is of 1 Jan in Los Angeles (02:00). 17 Jan 07:59 UTC is day 16 in UTC but
    # 16 Jan 23:59 there: day 15, accepted. 17 Jan 08:00 UTC is 17 Jan there: refused.
    clock.move_to(datetime.datetime(2026, 1, 17, 7, 59, tzinfo=datetime.UTC))
    assert committed(actions.correct_billing_details, account, company="In time SIA").invoice
    clock.move_to(datetime.datetime(2026, 1, 17, 8, 0, tzinfo=datetime.UTC))
    assert committed(actions.correct_billing_details, account, company="Late SIA").refused


def test_a_vat_number_added_by_correction_keeps_the_tax(paying, clock, committed):
    account = paying(cycle="monthly", seats=1)
    [original] = invoices(account)
    on_day(clock, 5)
    correction = committed(actions.correct_billing_details, account, country="EE",
                           vat_number="EE100931558")
    assert correction.invoice.buyer["vat_number"] == "EE100931558"
    # Same amounts and tax: no refund of the VAT already charged (terms §4).
    assert correction.invoice.tax_cents == original.tax_cents == 819  # 21 % of $39.00


def test_an_unchanged_request_or_no_invoice_makes_no_documents(customer, committed):
    assert committed(actions.correct_billing_details, customer, company="Acme SIA") == (
        actions.Correction())
    assert not BillingDocument.objects.exists()


def test_an_invalid_vat_number_is_refused_and_nothing_changes(paying, committed):
    account = paying(cycle="monthly", seats=1)
    with pytest.raises(actions.BillingError, match="not a valid VAT number"):
        actions.correct_billing_details(account, company="Other", vat_number="LV12345678901")
    assert BillingProfile.objects.get(account=account).company == "Acme SIA"
    assert len(invoices(account)) == 1
