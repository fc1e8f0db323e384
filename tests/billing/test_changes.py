"""Changes inside a period (terms §3): charged at once and prorated by days on an annual
cycle, only above what was already paid this period; on the next invoice on a monthly cycle;
never a refund or credit."""

import datetime

import pytest
from django.test import RequestFactory
from django_scopes import scope

from saruna.accounts import actions as accounts
from saruna.billing import actions
from saruna.billing.models import BillingDocument, DocumentLine, PlanPrice, Subscription
from saruna.core.models import Plan
from tests.billing.conftest import invoices
from tests.factories import make_user

D = datetime.date


def at(clock, day):
    clock.move_to(datetime.datetime.combine(day, datetime.time(12), datetime.UTC))


def proration_lines(account):
    return list(DocumentLine.objects.filter(account=account, item=DocumentLine.Item.PRORATION)
                .order_by("pk"))


@pytest.fixture
def premium(db):
    """A dearer plan: $59 per seat per month, $590 per year."""
    plan = Plan.objects.create(code="premium", name="Premium", max_agents=100)
    PlanPrice.objects.create(plan=plan, currency="USD", seat_month_cents=5900,
                             seat_year_cents=59000, effective_from=D(2020, 1, 1))
    return plan


def test_annual_seats_added_are_charged_now_for_the_days_left(paying, clock, committed):
    account = paying(cycle="annual", seats=3)  # period 1 Jan - 31 Dec 2026, 365 days
    at(clock, D(2026, 3, 10))
    committed(actions.set_seats, account, 5)
    [line] = proration_lines(account)
    # days_left counts 10 March: 22 (Mar 10-31) + 275 (Apr-Dec) = 297 of 365.
    # 2 seats * $390.00 * 297 / 365 = $634.6849... → $634.68.
    assert (line.quantity, line.unit_cents, line.days_left, line.days_in_period) == (
        2, 39000, 297, 365)
    assert line.amount_cents == 63468
    assert (line.period_start, line.period_end) == (D(2026, 3, 10), D(2026, 12, 31))
    invoice = line.document
    # VAT 21 %: 634.68 * 0.21 = 133.2828 → $133.28; total $767.96, charged at once.
    assert (invoice.tax_cents, invoice.total_cents) == (13328, 76796)
    assert invoice.payments.get().status == "succeeded"


def test_the_last_day_of_a_leap_year_period(customer, all_inclusive, clock, committed):
    clock.move_to(datetime.datetime(2028, 1, 1, 10, tzinfo=datetime.UTC))
    committed(actions.start_subscription, customer, plan=all_inclusive, cycle="annual", seats=1)
    committed(actions.add_payment_method, customer, "4242424242424242")
    at(clock, D(2028, 12, 31))
    committed(actions.set_seats, customer, 2)
    [line] = proration_lines(customer)
    # 1 seat * $390.00 * 1 / 366 = $1.0655... → $1.07.
    assert (line.days_left, line.days_in_period, line.amount_cents) == (1, 366, 107)


def test_seats_removed_and_added_back_are_not_paid_twice(paying, clock, committed):
    account = paying(cycle="annual", seats=5)
    at(clock, D(2026, 2, 1))
    committed(actions.set_seats, account, 3)
    at(clock, D(2026, 4, 1))
    committed(actions.set_seats, account, 5)
    assert proration_lines(account) == []
    at(clock, D(2026, 7, 1))
    committed(actions.set_seats, account, 6)
    [line] = proration_lines(account)
    # Only the 6th seat is new: 1 * $390.00 * 184 / 365 (1 Jul - 31 Dec) = $196.6027 → $196.60.
    assert (line.quantity, line.days_left, line.amount_cents) == (1, 184, 19660)


def test_an_annual_upgrade_is_charged_the_difference(paying, premium, clock, committed):
    account = paying(cycle="annual", seats=2)
    at(clock, D(2026, 10, 1))
    committed(actions.change_plan, account, premium)
    [line] = proration_lines(account)
    # ($590 - $390) * 2 seats = $400 per period; 92 days left (1 Oct - 31 Dec) of 365:
    # 400 * 92 / 365 = $100.8219... → $100.82.
    assert (line.quantity, line.unit_cents, line.days_left, line.amount_cents) == (
        2, 20000, 92, 10082)
    assert "Upgrade" in line.description


def test_downgrade_and_upgrade_again_in_one_period_is_not_paid_twice(
    paying, premium, all_inclusive, clock, committed
):
    account = paying(cycle="annual", seats=2, plan=premium)
    at(clock, D(2026, 5, 1))
    committed(actions.change_plan, account, all_inclusive)  # takes effect now, no credit
    assert Subscription.objects.get(account=account).plan == all_inclusive
    at(clock, D(2026, 6, 1))
    committed(actions.change_plan, account, premium)
    committed(actions.set_seats, account, 3)
    [line] = proration_lines(account)
    # Two premium seats are paid this period; only the third is new:
    # 1 * $590 * 214 / 365 (1 Jun - 31 Dec) = $345.9178 → $345.92.
    assert (line.quantity, line.unit_cents, line.amount_cents) == (1, 59000, 34592)


def test_a_seat_added_after_a_downgrade_is_paid_at_the_lower_price(
    paying, premium, all_inclusive, clock, committed
):
    account = paying(cycle="annual", seats=2, plan=premium)
    at(clock, D(2026, 7, 1))
    committed(actions.change_plan, account, all_inclusive)
    committed(actions.set_seats, account, 3)
    [line] = proration_lines(account)
    # The premium seats paid for do not pay for a new one (that would be a credit):
    # 1 * $390 * 184 / 365 = $196.60.
    assert (line.quantity, line.unit_cents, line.amount_cents) == (1, 39000, 19660)


def test_monthly_changes_wait_for_the_next_invoice(paying, premium, clock, committed):
    account = paying(cycle="monthly", seats=2)
    at(clock, D(2026, 1, 20))
    committed(actions.set_seats, account, 4)
    committed(actions.change_plan, account, premium)
    assert len(invoices(account)) == 1
    clock.move_to(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    renewal = invoices(account)[-1]
    # The next monthly invoice has the new rate: 4 seats * $59.00 = $236.00.
    assert renewal.lines.get().amount_cents == 23600


def test_downgrades_and_removed_seats_lower_the_price_from_the_next_period_only(
    paying, clock, committed
):
    account = paying(cycle="annual", seats=5)
    at(clock, D(2026, 2, 1))
    committed(actions.set_seats, account, 2)
    assert len(invoices(account)) == 1
    assert not BillingDocument.objects.filter(kind=BillingDocument.Kind.CREDIT_NOTE).exists()
    clock.move_to(datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    # 2 seats * $390 = $780 for 2027.
    assert invoices(account)[-1].lines.get().amount_cents == 78000


def test_seats_cannot_go_below_the_active_users(paying, committed):
    account = paying(cycle="annual", seats=2)
    make_user(account, "agent@acme.test")
    with pytest.raises(actions.BillingError, match="2 users are active"):
        actions.set_seats(account, 1)


def test_a_cycle_change_starts_with_the_next_period(paying, clock, committed):
    account = paying(cycle="monthly", seats=1)
    committed(actions.change_cycle, account, "annual")
    clock.move_to(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    line = invoices(account)[-1].lines.get()
    assert (line.unit_cents, line.period_start, line.period_end) == (
        39000, D(2026, 2, 1), D(2027, 1, 31))


def _request(account, user):
    request = RequestFactory().post("/", HTTP_HOST=account.host)
    request.account, request.user = account, user
    return request


def test_an_accepted_invitation_beyond_the_paid_seats_adds_a_seat(
    paying, clock, committed, client
):
    account = paying(cycle="annual", seats=1)
    owner = account.owner
    at(clock, D(2026, 12, 2))  # 30 days left
    invitation = committed(accounts.invite_user, _request(account, owner), email="new@acme.test",
                           role="agent", invited_by=owner)
    assert proration_lines(account) == []  # an open invitation is not billed
    request = _request(account, owner)
    request.session = client.session
    committed(accounts.accept_invitation, request, invitation, full_name="New Agent",
              password="correct horse battery staple")
    assert Subscription.objects.get(account=account).seats == 2
    [line] = proration_lines(account)
    # 1 * $390 * 30 / 365 = $32.0547 → $32.05.
    assert (line.quantity, line.days_left, line.amount_cents) == (1, 30, 3205)


def test_a_reactivated_user_within_the_paid_seats_costs_nothing(paying, clock, committed):
    account = paying(cycle="annual", seats=2)
    agent = make_user(account, "agent@acme.test")
    owner = account.owner
    committed(accounts.deactivate_user, _request(account, owner), agent, actor=owner)
    at(clock, D(2026, 3, 1))
    committed(accounts.reactivate_user, _request(account, owner), agent, actor=owner)
    assert proration_lines(account) == []
    other = make_user(account, "other@acme.test", is_active=False)
    committed(accounts.reactivate_user, _request(account, owner), other, actor=owner)
    # A third active user: one seat added on 1 March, 306 days left:
    # 390 * 306 / 365 = $326.9589 → $326.96.
    assert proration_lines(account)[0].amount_cents == 32696


def test_billing_rows_stay_in_their_account(paying, two_tenants):
    paying(cycle="annual", seats=1)
    with scope(account=two_tenants.b):
        assert not BillingDocument.objects.exists()
        assert not Subscription.objects.exists()
