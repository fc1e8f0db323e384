"""Billing fixtures: a Latvian company's account in its own scope under a frozen clock, and
``committed`` to run a write together with its after-commit work (collecting payments,
sending mail), as a real commit would."""

import datetime

import pytest
import time_machine
from django_scopes import scope

from saruna.billing import actions
from saruna.billing.models import BillingDocument, Payment
from saruna.core.models import Plan
from tests.factories import make_account, make_user
from tests.tenancy import host_client

START = datetime.datetime(2026, 1, 1, 10, 0, tzinfo=datetime.UTC)
CARD = "4242 4242 4242 4242"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def all_inclusive(db):
    return Plan.objects.get(code="all-inclusive")


@pytest.fixture
def free_plan(db):
    return Plan.objects.get(code="free")


@pytest.fixture
def customer(clock, all_inclusive):
    """Acme SIA in Riga: its owner, its billing details, and its scope active."""
    account = make_account("acme", name="Acme SIA", plan=all_inclusive)
    account.owner = make_user(account, "owner@acme.test", role="owner", full_name="Līga Ozola")
    with scope(account=account):
        actions.update_billing_details(
            account, name="Līga Ozola", company="Acme SIA", country="LV",
            address_lines=["Brīvības iela 1", "Rīga, LV-1010"], email="billing@acme.test",
        )
        yield account


@pytest.fixture
def staff(db):
    return make_user(None, "staff@provider.test")


@pytest.fixture
def staff_client(staff):
    """The provider's staff on the base domain."""
    return host_client(None, staff)


@pytest.fixture
def paying(customer, all_inclusive, committed):
    """``paying(cycle=..., seats=...)``: the customer subscribes and adds a card at START,
    so its first period starts that day."""

    def start(*, cycle="annual", seats=3, plan=None):
        committed(actions.start_subscription, customer, plan=plan or all_inclusive,
                  cycle=cycle, seats=seats)
        committed(actions.add_payment_method, customer, CARD)
        return customer

    return start


def invoices(account):
    return list(BillingDocument.objects.filter(
        account=account, kind=BillingDocument.Kind.INVOICE).order_by("pk"))


def documents(account):
    return list(BillingDocument.objects.filter(account=account).order_by("pk"))


def paid_cents(account):
    return sum(Payment.objects.filter(account=account, status=Payment.Status.SUCCEEDED)
               .values_list("amount_cents", flat=True))
