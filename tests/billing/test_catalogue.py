"""The default catalogue, dated prices with 30 days' notice, limits and their overrides."""

import datetime

import pytest
from django.core import mail

from saruna.billing import actions, catalogue
from saruna.billing.models import LimitOverride, PlanPrice
from saruna.core.models import Account
from tests.billing.conftest import invoices

D = datetime.date


def test_the_default_catalogue(all_inclusive, free_plan):
    price = catalogue.price_on(all_inclusive, "USD", D(2026, 1, 1))
    assert (price.seat_month_cents, price.seat_year_cents) == (3900, 39000)
    assert catalogue.price_on(free_plan, "USD", D(2026, 1, 1)) is None
    assert not catalogue.is_paid(free_plan)


def test_a_price_change_needs_30_days_notice(customer, all_inclusive):
    with pytest.raises(catalogue.CatalogueError, match="30 days"):
        catalogue.schedule_price_change(all_inclusive, currency="USD", seat_month="45.00",
                                        seat_year="450.00", effective_from=D(2026, 1, 30))


def test_owners_are_told_and_the_new_price_starts_at_the_first_renewal_after_it(
    paying, all_inclusive, clock, committed
):
    account = paying(cycle="monthly", seats=1)
    mail.outbox.clear()
    # Announced 1 Jan, effective 31 Jan (30 days): the 1 Feb renewal is the first after it.
    committed(catalogue.schedule_price_change, all_inclusive, currency="USD",
              seat_month="45.00", seat_year="450.00", effective_from=D(2026, 1, 31))
    assert [m.to for m in mail.outbox] == [["owner@acme.test"]]
    assert "45.00 USD" in mail.outbox[0].body and "31 January 2026" in mail.outbox[0].body
    clock.move_to(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    first, second = invoices(account)
    assert (first.subtotal_cents, second.subtotal_cents) == (3900, 4500)


def test_an_annual_period_keeps_its_price_until_it_renews(paying, all_inclusive, clock,
                                                          committed):
    account = paying(cycle="annual", seats=1)
    catalogue.schedule_price_change(all_inclusive, currency="USD", seat_month="45.00",
                                    seat_year="450.00", effective_from=D(2026, 3, 1))
    clock.move_to(datetime.datetime(2026, 7, 2, 12, tzinfo=datetime.UTC))
    committed(actions.set_seats, account, 2)
    # The seat added in July is priced as the period is: $390 * 183 / 365 = $195.5342.
    assert invoices(account)[-1].subtotal_cents == 19553
    clock.move_to(datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    assert invoices(account)[-1].subtotal_cents == 90000  # 2 seats * $450 from 2027


def test_old_prices_stay_as_they_were(all_inclusive, clock):
    catalogue.schedule_price_change(all_inclusive, currency="USD", seat_month="45.00",
                                    seat_year="450.00", effective_from=D(2026, 6, 1))
    assert list(PlanPrice.objects.filter(plan=all_inclusive).values_list(
        "seat_month_cents", "effective_from")) == [(3900, D(2020, 1, 1)), (4500, D(2026, 6, 1))]


def test_limits_come_from_the_plan_with_the_providers_overrides(customer, all_inclusive,
                                                                free_plan):
    limits = catalogue.limits_of(customer)
    assert (limits.agents, limits.mailboxes, limits.history_days) == (100, 100, None)
    LimitOverride.objects.create(account=customer, max_mailboxes=500)
    Account.objects.filter(pk=customer.pk).update(max_agents_override=150)
    customer.refresh_from_db()
    limits = catalogue.limits_of(customer)
    assert (limits.agents, limits.mailboxes, limits.chat_buttons) == (150, 500, 100)


def test_the_free_plan_limits(customer, free_plan, committed):
    committed(actions.start_subscription, customer, plan=free_plan, seats=1)
    limits = catalogue.limits_of(customer)
    assert (limits.agents, limits.mailboxes, limits.chat_buttons, limits.history_days) == (
        3, 1, 1, 365)
