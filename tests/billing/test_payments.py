"""Payments through the offline gateway: deterministic, declines, a failure on demand, and a
new payment method retrying what is unpaid."""

import pytest

from saruna.billing import actions, payments
from saruna.billing.gateways import get_gateway
from saruna.billing.gateways.offline import DECLINED_CARD, fail_next_charge
from saruna.billing.models import Payment, PaymentMethod, Subscription
from tests.billing.conftest import CARD, invoices


def test_the_offline_gateway_is_deterministic(customer):
    gateway = get_gateway("offline")
    saved = gateway.save_payment_method(customer, CARD)
    assert (saved.kind, saved.label, saved.reference) == (
        "card", "Test card •••• 4242", "offline_pm_4242424242424242")
    method = PaymentMethod(account=customer, gateway="offline", kind=saved.kind,
                           reference=saved.reference, label=saved.label)
    first = gateway.charge(method, 100, "USD", idempotency_key="k1", description="x")
    assert first == gateway.charge(method, 100, "USD", idempotency_key="k1", description="x")
    assert first.succeeded and first.reference == "offline_ch_k1"
    paypal = gateway.save_payment_method(customer, "paypal:owner@acme.test")
    assert (paypal.kind, paypal.label) == ("paypal", "PayPal owner@acme.test")


def test_a_bad_card_number_is_refused_before_anything_changes(customer, all_inclusive):
    actions.start_subscription(customer, plan=all_inclusive, seats=1)
    with pytest.raises(actions.BillingError, match="card number is not valid"):
        actions.add_payment_method(customer, "4242 4242 4242 4241")
    assert not PaymentMethod.objects.exists()
    assert Subscription.objects.get().status == Subscription.Status.TRIALING


def test_a_declined_card_leaves_the_invoice_due_and_a_new_card_pays_it(
    customer, all_inclusive, committed
):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    committed(actions.add_payment_method, customer, DECLINED_CARD)
    [invoice] = invoices(customer)
    [failed] = Payment.objects.all()
    assert (failed.status, failed.failure_message) == ("failed", "The card was declined.")
    assert Subscription.objects.get().status == Subscription.Status.PAST_DUE
    assert payments.due_invoices(customer) == [invoice]

    committed(actions.add_payment_method, customer, CARD)
    retried = Payment.objects.get(attempt=2)
    assert (retried.invoice, retried.status) == (invoice, "succeeded")
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    assert PaymentMethod.objects.filter(removed_at__isnull=True).get().label.endswith("4242")


def test_the_gateway_can_be_told_to_fail_the_next_charge_once(paying, clock, committed):
    account = paying(cycle="annual", seats=1)
    fail_next_charge(account)
    committed(actions.set_seats, account, 2)
    assert Payment.objects.order_by("pk").last().status == "failed"
    committed(actions.set_seats, account, 3)
    assert Payment.objects.order_by("pk").last().status == "succeeded"


def test_a_paid_invoice_is_never_charged_again(paying, committed):
    account = paying(cycle="monthly", seats=1)
    assert payments.collect_due(account, retry_failed=True) == []
    [invoice] = invoices(account)
    assert payments.attempt(invoice) is None
    assert invoice.payments.count() == 1


def test_a_refund_through_the_offline_gateway(paying):
    account = paying(cycle="monthly", seats=1)
    payment = Payment.objects.get(account=account)
    gateway = get_gateway(payment.gateway)
    assert gateway.refund(payment, 100, idempotency_key="r1", reason="x").reference == (
        "offline_re_r1")
    assert not gateway.refund(payment, payment.amount_cents + 1, idempotency_key="r2",
                              reason="x").succeeded
