"""The trial, the first invoice, suspension and restoring, renewals, cancelling."""

import datetime

import pytest
from django.core import mail

from saruna.billing import actions
from saruna.billing.models import Payment, Subscription
from saruna.core.models import Account
from tests.billing.conftest import CARD, START, invoices, paid_cents
from tests.factories import make_user
from tests.tenancy import host_client

DAY = datetime.timedelta(days=1)


def subscription(account):
    return Subscription.objects.get(account=account)


def run_jobs(clock, moment, committed):
    clock.move_to(moment)
    committed(actions.run_due_jobs)


def test_a_paid_plan_starts_with_a_14_day_trial_and_no_invoice(customer, all_inclusive,
                                                               committed):
    committed(actions.start_subscription, customer, plan=all_inclusive, cycle="monthly", seats=2)
    sub = subscription(customer)
    assert sub.status == Subscription.Status.TRIALING
    assert sub.trial_ends_at == START + 14 * DAY
    assert invoices(customer) == []


def test_a_card_during_the_trial_ends_it_and_invoices_at_once(customer, all_inclusive, clock,
                                                              committed):
    committed(actions.start_subscription, customer, plan=all_inclusive, cycle="monthly", seats=2)
    clock.move_to(START + 3 * DAY)  # 4 January
    committed(actions.add_payment_method, customer, CARD)
    sub = subscription(customer)
    assert sub.status == Subscription.Status.ACTIVE
    [invoice] = invoices(customer)
    [line] = invoice.lines.all()
    # 2 seats * $39.00 = $78.00 for 4 Jan - 3 Feb; Latvian VAT 21 % = $16.38.
    assert (line.quantity, line.unit_cents, line.amount_cents) == (2, 3900, 7800)
    assert (line.period_start, line.period_end) == (datetime.date(2026, 1, 4),
                                                    datetime.date(2026, 2, 3))
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (7800, 1638, 9438)
    assert paid_cents(customer) == 9438
    # The trial is over: its end no longer suspends anything.
    run_jobs(clock, START + 15 * DAY, committed)
    assert Account.objects.get(pk=customer.pk).status == Account.Status.ACTIVE


def test_a_trial_ending_without_a_card_suspends_and_a_card_restores(customer, all_inclusive,
                                                                    clock, committed):
    agent = make_user(customer, "agent@acme.test")
    committed(actions.start_subscription, customer, plan=all_inclusive, cycle="monthly", seats=2)
    run_jobs(clock, START + 14 * DAY - datetime.timedelta(seconds=1), committed)
    assert Account.objects.get(pk=customer.pk).status == Account.Status.ACTIVE
    mail.outbox.clear()

    run_jobs(clock, START + 14 * DAY, committed)
    account = Account.objects.get(pk=customer.pk)
    assert account.status == Account.Status.SUSPENDED
    assert subscription(customer).status == Subscription.Status.SUSPENDED
    assert [m.to for m in mail.outbox] == [["owner@acme.test"]]
    assert "trial" in mail.outbox[0].subject
    page = host_client(account, agent).get("/")
    assert page.status_code == 403 and b"All its data is kept" in page.content
    assert invoices(customer) == []

    clock.move_to(START + 20 * DAY)  # 21 January
    committed(actions.add_payment_method, customer, CARD)
    assert Account.objects.get(pk=customer.pk).status == Account.Status.ACTIVE
    [invoice] = invoices(customer)
    # The first period starts the day the card came: 21 Jan - 20 Feb, nothing for the pause.
    assert invoice.lines.get().period_start == datetime.date(2026, 1, 21)
    assert paid_cents(customer) == invoice.total_cents
    assert host_client(customer, agent).get("/").status_code == 200


def test_monthly_periods_from_the_31st_renew_on_month_ends(customer, all_inclusive, clock,
                                                           committed):
    clock.move_to(datetime.datetime(2026, 1, 31, 9, tzinfo=datetime.UTC))
    committed(actions.start_subscription, customer, plan=all_inclusive, cycle="monthly", seats=1)
    committed(actions.add_payment_method, customer, CARD)
    for day in (datetime.date(2026, 2, 28), datetime.date(2026, 3, 31),
                datetime.date(2026, 4, 30)):
        run_jobs(clock, datetime.datetime.combine(day, datetime.time(), datetime.UTC),
                 committed)
    starts = [invoice.lines.get().period_start for invoice in invoices(customer)]
    assert starts == [datetime.date(2026, 1, 31), datetime.date(2026, 2, 28),
                      datetime.date(2026, 3, 31), datetime.date(2026, 4, 30)]
    # Each renewal is prepaid at the period's start: one payment per invoice, all paid.
    assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == 4


def test_renewal_runs_at_midnight_in_the_accounts_time_zone(customer, all_inclusive, clock,
                                                            committed):
    Account.objects.filter(pk=customer.pk).update(time_zone="Europe/Riga")
    customer.refresh_from_db()
    committed(actions.start_subscription, customer, plan=all_inclusive, cycle="monthly", seats=1)
    committed(actions.add_payment_method, customer, CARD)  # 1 Jan, 12:00 in Riga
    # 1 Feb 00:00 in Riga is 31 Jan 22:00 UTC.
    run_jobs(clock, datetime.datetime(2026, 1, 31, 21, 59, tzinfo=datetime.UTC), committed)
    assert len(invoices(customer)) == 1
    run_jobs(clock, datetime.datetime(2026, 1, 31, 22, 0, tzinfo=datetime.UTC), committed)
    assert len(invoices(customer)) == 2


def test_cancelling_closes_at_once_with_no_refund_and_no_new_charge(paying, clock, committed):
    account = paying(cycle="monthly", seats=2)
    clock.move_to(START + 10 * DAY)
    committed(actions.cancel, account)
    assert Account.objects.get(pk=account.pk).status == Account.Status.CLOSED
    run_jobs(clock, START + 70 * DAY, committed)
    assert len(invoices(account)) == 1
    assert not Payment.objects.filter(refunds__isnull=False).exists()
    with pytest.raises(actions.BillingError):
        actions.cancel(account)


def test_a_free_plan_has_no_trial_and_no_invoices(customer, free_plan, clock, committed):
    committed(actions.start_subscription, customer, plan=free_plan, cycle="monthly", seats=1)
    assert subscription(customer).status == Subscription.Status.ACTIVE
    run_jobs(clock, START + 60 * DAY, committed)
    assert invoices(customer) == []
    assert Account.objects.get(pk=customer.pk).status == Account.Status.ACTIVE
