"""Failed charges (terms): tried again 1, 3, 5 and 7 days after the first failure, the owner
e-mailed each time with the day of the next try; after the last the account is suspended
until it is paid; paying restores it. Through the offline gateway and the periodic task."""

import datetime
from datetime import timedelta

from django.core import mail as django_mail

from saruna.billing import actions, methods, payments, tasks
from saruna.billing.gateways.offline import DECLINED_CARD, fail_next_charge
from saruna.billing.models import Payment, Subscription
from saruna.billing.simulator import simulate
from saruna.core.models import Account
from tests.billing.conftest import CARD, START, invoices
from tests.billing.test_simulator import LV, summary


def attempts(account):
    return [(p.attempt, p.status) for p in Payment.objects.filter(account=account)
            .order_by("pk")]


def retry_at(clock, moment, committed):
    """The periodic task's run at ``moment``, as the worker would run it."""
    clock.move_to(moment)
    committed(tasks.retry_failed_payments.call_local)


def test_a_declined_card_is_tried_on_days_1_3_5_7_then_the_account_is_suspended_until_paid(
    customer, all_inclusive, clock, committed
):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    committed(methods.confirm_setup, customer, "card", DECLINED_CARD)
    [invoice] = invoices(customer)
    [failed] = django_mail.outbox
    assert failed.to == ["owner@acme.test"]
    assert failed.subject == f"The payment of invoice {invoice.number} failed"
    assert "We could not charge 47.19 USD" in failed.body
    assert "to Test card •••• 0002" in failed.body
    assert "We will try again on 2 January 2026." in failed.body

    retry_at(clock, START + timedelta(days=1, minutes=-1), committed)
    assert attempts(customer) == [(1, "failed")]  # not yet
    for day, next_try in ((1, "4 January 2026"), (3, "6 January 2026"),
                          (5, "8 January 2026")):
        retry_at(clock, START + timedelta(days=day), committed)
        assert attempts(customer)[-1][1] == "failed"
        assert f"We will try again on {next_try}." in django_mail.outbox[-1].body
        assert Subscription.objects.get().status == Subscription.Status.PAST_DUE
    assert [a for a, _ in attempts(customer)] == [1, 2, 3, 4]

    retry_at(clock, START + timedelta(days=7), committed)
    assert attempts(customer)[-1] == (5, "failed")
    assert Subscription.objects.get().status == Subscription.Status.SUSPENDED
    customer.refresh_from_db()
    assert customer.status == Account.Status.SUSPENDED
    suspended = django_mail.outbox[-1]
    assert suspended.subject == f"Acme SIA is suspended: invoice {invoice.number} is unpaid"
    assert "We tried for 7 days to charge 47.19 USD" in suspended.body
    assert len(django_mail.outbox) == 5

    retry_at(clock, START + timedelta(days=20), committed)
    assert len(attempts(customer)) == 5  # suspended: no more tries

    committed(methods.confirm_setup, customer, "card", CARD)
    assert attempts(customer)[-1] == (6, "succeeded")
    customer.refresh_from_db()
    assert customer.status == Account.Status.ACTIVE
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    assert payments.due_invoices(customer) == []
    assert django_mail.outbox[-1].subject == f"Receipt for invoice {invoice.number}"


def test_a_retry_that_succeeds_makes_the_subscription_active_again(paying, clock, committed):
    account = paying(cycle="monthly", seats=1)
    fail_next_charge(account)
    clock.move_to(datetime.datetime(2026, 2, 1, 0, 5, tzinfo=datetime.UTC))
    committed(tasks.run_billing_jobs.call_local)  # the renewal's charge fails
    renewal = invoices(account)[-1]
    assert renewal.payments.get().status == "failed"
    assert Subscription.objects.get().status == Subscription.Status.PAST_DUE

    retry_at(clock, datetime.datetime(2026, 2, 2, 0, 5, tzinfo=datetime.UTC), committed)
    assert [p.status for p in renewal.payments.order_by("attempt")] == ["failed", "succeeded"]
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    assert django_mail.outbox[-1].subject == f"Receipt for invoice {renewal.number}"


def test_an_extra_attempt_in_between_does_not_move_the_retry_days(
    customer, all_inclusive, clock, committed
):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    committed(methods.confirm_setup, customer, "card", DECLINED_CARD)
    retry_at(clock, START + timedelta(days=1), committed)
    clock.move_to(START + timedelta(days=1, hours=5))
    committed(methods.confirm_setup, customer, "card", DECLINED_CARD)  # the owner tries again
    assert [a for a, _ in attempts(customer)] == [1, 2, 3]
    assert payments.next_retry_at(invoices(customer)[0]) == START + timedelta(days=3)
    assert "We will try again on 4 January 2026." in django_mail.outbox[-1].body


def test_the_simulator_runs_the_retries_as_jobs(db):
    # 39.00 + 21 % VAT = 47.19, declined at signup on 1 Jan and on 2, 4, 6 and 8 Jan;
    # suspended on 8 Jan; a good card on 12 Jan pays it and restores the account.
    result = simulate({"customer": LV, "events": [
        {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
        {"do": "add_card", "card": "4000 0000 0000 0002"},
        {"at": "2026-01-12T10:00:00Z", "do": "add_card"},
    ]})
    assert summary(result) == [
        ("signup", [], [], "", "active", "trialing"),
        ("add_card", ["INV-2026-000001 39.00+8.19=47.19"], ["INV-2026-000001#1 failed"], "",
         "active", "past_due"),
        ("jobs", [], ["INV-2026-000001#2 failed"], "", "active", "past_due"),
        ("jobs", [], ["INV-2026-000001#3 failed"], "", "active", "past_due"),
        ("jobs", [], ["INV-2026-000001#4 failed"], "", "active", "past_due"),
        ("jobs", [], ["INV-2026-000001#5 failed"], "", "suspended", "suspended"),
        ("add_card", [], ["INV-2026-000001#6 succeeded"], "", "active", "active"),
    ]
    assert [entry["at"] for entry in result["events"][2:6]] == [
        "2026-01-02T10:00:00Z", "2026-01-04T10:00:00Z", "2026-01-06T10:00:00Z",
        "2026-01-08T10:00:00Z"]
    assert [mail["subject"] for mail in result["events"][5]["emails"]] == [
        "Customer Ltd is suspended: invoice INV-2026-000001 is unpaid"]
