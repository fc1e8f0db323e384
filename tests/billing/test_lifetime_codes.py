"""Lifetime codes (terms §6): imported in batches with a deadline, redeemed once at
/signup/code/, 2 seats for life on the all-inclusive plan, extra agents billed by their days
in arrears, the owner told at once, and the account blocked at the first charge until billing
details and a payment method are given."""

import datetime
import importlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.accounts.signup import SignupError
from saruna.billing import actions, codes
from saruna.billing.models import (
    BillingDocument,
    CodeBatch,
    CodeRedemption,
    LifetimeCode,
    SeatInterval,
    Subscription,
)
from saruna.billing.simulator import simulate
from saruna.core.models import Account, AuditEvent
from saruna.web.forms import _stamp
from tests.billing.conftest import CARD, invoices
from tests.factories import make_account, make_user

PASSWORD = "violet-harbour-1987"
# Far ahead: the codes stay redeemable whatever day the suite runs.
DEADLINE = datetime.datetime(2099, 11, 30, 23, 59, tzinfo=datetime.UTC)
BATCH = [{"name": "AppSumo", "redeem_by": "2026-11-30T23:59:00Z",
          "codes": ["LTD-AAAA-0001", "LTD-AAAA-0002"]}]
FULL_DETAILS = {"country": "LV", "vat_id": None, "currency": "USD", "name": "Līga Ozola",
                "company": "Acme SIA", "email": "billing@acme.test",
                "address": ["Brīvības iela 1", "Rīga"], "registration_number": "40000000000"}


def code_mail(subject):
    """The two mails of this feature (invitations and receipts are tested elsewhere)."""
    return "lifetime code includes" in subject or "is closed until" in subject


def summary(result):
    """Per entry: what happened, documents, payments, the refusal, the account's and the
    subscription's state, and the subjects of the lifetime-code e-mails sent."""
    return [
        (
            entry["do"],
            [f"{d['number']} {d['subtotal']}+{d['tax']}={d['total']}"
             for d in entry["documents"]],
            [f"{p['invoice']}#{p['attempt']} {p['status']}" for p in entry["payments"]],
            entry.get("refused", ""),
            entry["state"]["account"],
            entry["state"]["subscription"],
            [mail["subject"] for mail in entry["emails"] if code_mail(mail["subject"])],
        )
        for entry in result["events"]
    ]


EXCEEDS = "Customer Ltd now has more users than its lifetime code includes"
SCENARIOS = {
    # Redeemed on 5 Jan (lower case works: codes are not case-sensitive): 2 seats for life,
    # nothing to pay. A 2nd user on 10 Jan is included; a 3rd on 12 Jan is beyond them (the
    # owner is e-mailed at once) until removed on 22 Jan: 12-22 Jan, 11 days counted
    # (the days it existed, in part or in full). On 1 Feb, in arrears: 39.00 * 11 / 31 =
    # 13.8387 → 13.84 + 21 % VAT 2.9064 → 2.91 = 16.75, charged to the card. A second code
    # is refused: codes do not stack.
    "extra agents are billed by their days, in arrears": (
        {"customer": {**FULL_DETAILS, "company": "Customer Ltd"}, "code_batches": BATCH,
         "events": [
             {"at": "2026-01-05T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
             {"do": "redeem_code", "code": "ltd-aaaa-0001"},
             {"do": "add_card"},
             {"at": "2026-01-10T10:00:00Z", "do": "add_agent"},
             {"at": "2026-01-12T10:00:00Z", "do": "add_agent"},
             {"at": "2026-01-22T10:00:00Z", "do": "remove_agent"},
             {"at": "2026-02-02T10:00:00Z", "do": "redeem_code", "code": "LTD-AAAA-0002"},
             {"at": "2026-03-02T10:00:00Z", "do": "advance"},
         ]},
        [
            ("signup", [], [], "", "active", "trialing", []),
            ("redeem_code", [], [], "", "active", "active", []),
            ("add_card", [], [], "", "active", "active", []),
            ("add_agent", [], [], "", "active", "active", []),
            ("add_agent", [], [], "", "active", "active", [EXCEEDS]),
            ("remove_agent", [], [], "", "active", "active", []),
            ("jobs", ["INV-2026-000001 13.84+2.91=16.75"], ["INV-2026-000001#1 succeeded"], "",
             "active", "active", []),
            ("redeem_code", [], [], "This account already has a lifetime code: codes do not "
             "stack.", "active", "active", []),
            ("jobs", [], [], "", "active", "active", []),  # February: 2 users, nothing owed
            ("advance", [], [], "", "active", "active", []),
        ],
    ),
    # 4 users from 10 Jan, no card, no address: on 1 Feb the first charge blocks the account
    # (nothing is invoiced yet). A card alone does not open it; the full details on 5 Feb
    # do, and January is invoiced to them: 2 extra * 39.00 * 22 / 31 (10-31 Jan) = 55.3548
    # → 55.35 + 11.6235 → 11.62 = 66.97. The blocked 1-4 Feb are not billed: February counts
    # from 5 Feb, 24 days: 2 * 39.00 * 24 / 28 = 66.8571 → 66.86 + 14.0406 → 14.04 = 80.90.
    "the first charge blocks the account until details and a payment method": (
        {"customer": {"country": "LV", "currency": "USD", "company": "Customer Ltd"},
         "code_batches": BATCH,
         "events": [
             {"at": "2026-01-05T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
             {"do": "redeem_code", "code": "LTD-AAAA-0001"},
             {"at": "2026-01-10T10:00:00Z", "do": "add_agent"},
             {"do": "add_agent"},
             {"do": "add_agent"},
             {"at": "2026-02-03T10:00:00Z", "do": "add_card"},
             {"at": "2026-02-05T10:00:00Z", "do": "correct_billing_details",
              "address": ["Brīvības iela 1", "Rīga"], "registration_number": "40000000000",
              "email": "billing@customer.test"},
             {"at": "2026-03-02T10:00:00Z", "do": "advance"},
         ]},
        [
            ("signup", [], [], "", "active", "trialing", []),
            ("redeem_code", [], [], "", "active", "active", []),
            ("add_agent", [], [], "", "active", "active", []),
            ("add_agent", [], [], "", "active", "active", [EXCEEDS]),
            ("add_agent", [], [], "", "active", "active", [EXCEEDS]),
            ("jobs", [], [], "", "suspended", "suspended",
             ["Customer Ltd is closed until its billing details are complete"]),
            ("add_card", [], [], "", "suspended", "suspended", []),
            ("correct_billing_details", ["INV-2026-000001 55.35+11.62=66.97"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active", []),
            ("jobs", ["INV-2026-000002 66.86+14.04=80.90"], ["INV-2026-000002#1 succeeded"],
             "", "active", "active", []),
            ("advance", [], [], "", "active", "active", []),
        ],
    ),
    # After the deadline a code is refused, no exceptions; so is a code nobody issued, and a
    # code for an account that already pays for its seats.
    "refused codes": (
        {"customer": FULL_DETAILS,
         "code_batches": [{"name": "Early", "redeem_by": "2026-01-31T23:59:00Z",
                           "codes": ["EARLY-0001", "EARLY-0002"]}],
         "events": [
             {"at": "2026-02-01T00:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
             {"do": "redeem_code", "code": "EARLY-0001"},
             {"do": "redeem_code", "code": "NOPE-0001"},
         ]},
        [
            ("signup", [], [], "", "active", "trialing", []),
            ("redeem_code", [], [], "This code had to be redeemed by 2026-01-31 23:59 UTC and "
             "can no longer be used.", "active", "trialing", []),
            ("redeem_code", [], [], "This code is not valid. Check it and try again.",
             "active", "trialing", []),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(db, name):
    scenario, expected = SCENARIOS[name]
    assert summary(simulate(scenario)) == expected


def test_the_extra_agents_line_shows_quantity_days_and_period(db):
    result = simulate(SCENARIOS["extra agents are billed by their days, in arrears"][0])
    assert result["documents"][0]["lines"] == [{
        "description": "All-inclusive plan, agent beyond the 2 included seats, by days",
        "quantity": 1, "unit_amount": "39.00", "proration": "11/31", "amount": "13.84",
        "period_start": "2026-01-05", "period_end": "2026-01-31",
    }]
    state = result["events"][1]["state"]
    assert (state["plan"], state["included_seats"], state["seats"]) == ("all-inclusive", 2, 2)


def test_a_code_for_an_account_that_already_pays_is_refused(paying):
    account = paying(cycle="monthly", seats=1)
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    with pytest.raises(actions.BillingError, match="has not paid for a subscription yet"):
        codes.redeem_code(account, "LTD-0001")


# --- Importing -----------------------------------------------------------------------------------


def test_import_reads_the_first_column_skips_a_header_and_normalises(db):
    batch = codes.import_codes(name=" AppSumo ", redeem_by=DEADLINE,
                               csv_text="code,note\nltd-0001,first\n\n LTD-0002 ,\n")
    assert batch.name == "AppSumo"
    assert list(batch.codes.values_list("code", flat=True)) == ["LTD-0001", "LTD-0002"]


@pytest.mark.parametrize("csv_text, message", [
    ("LTD-0001\nltd-0001\n", "“LTD-0001” is in the file more than once."),
    ("LTD-0001\nno good!\n", "“NO GOOD!” is not a code"),
    ("OLD-0001\nLTD-0003\n", "“OLD-0001” was imported before."),
    ("code\n", "The file has no codes."),
])
def test_a_bad_file_imports_nothing(db, csv_text, message):
    codes.import_codes(name="Old", redeem_by=DEADLINE, csv_text="OLD-0001")
    with pytest.raises(codes.CodeImportError, match=message):
        codes.import_codes(name="New", redeem_by=DEADLINE, csv_text=csv_text)
    assert CodeBatch.objects.count() == 1 and LifetimeCode.objects.count() == 1


# --- The signup at /signup/code/ -----------------------------------------------------------------


@pytest.fixture
def signup_settings(settings):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0


def code_form(**overrides):
    data = {"code": "ltd-0001", "first_name": "Anna", "last_name": "Bērziņa",
            "email": "anna@example.com", "company": "Acme Ltd.", "subdomain": "",
            "password": PASSWORD, "adult": "on", "terms": "on", "website": "",
            "started": _stamp()}
    return {**data, **overrides}


def test_code_signup_makes_a_lifetime_account(public_client, signup_settings,
                                              django_capture_on_commit_callbacks):
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    page = public_client.get("/signup/code/").content.decode()
    for label in ("Code", "First name", "Last name", "E-mail", "Company or organisation"):
        assert f">{label}</label>" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/signup/code/", code_form())
    assert response.status_code == 302 and response["Location"] == "/signup/done/"
    account = Account.objects.get(slug="acme")
    assert account.status == Account.Status.UNVERIFIED and account.plan.code == "all-inclusive"
    with scope(account=account):
        owner = User.objects.get()
        subscription = Subscription.objects.get()
        assert CodeRedemption.objects.get().code.code == "LTD-0001"
        assert [interval.user for interval in SeatInterval.objects.all()] == [owner]
    assert owner.full_name == "Anna Bērziņa" and owner.check_password(PASSWORD)
    assert subscription.is_lifetime and subscription.status == Subscription.Status.ACTIVE
    assert (subscription.included_seats, subscription.trial_ends_at) == (2, None)
    assert mail.outbox[0].to == ["anna@example.com"]  # the usual confirmation link


@pytest.mark.parametrize("code, message", [
    ("LTD-9999", "This code is not valid."),
    ("LTD-USED", "This code has already been redeemed"),
    ("LTD-LATE", "can no longer be used"),
])
def test_a_refused_code_is_a_form_error_and_makes_no_account(
    public_client, signup_settings, django_capture_on_commit_callbacks, code, message
):
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-USED")
    codes.import_codes(name="Past", csv_text="LTD-LATE",
                       redeem_by=timezone.now() - datetime.timedelta(minutes=1))
    taken = make_account("taken")
    make_user(taken, "owner@taken.test", role="owner")
    with scope(account=taken):
        codes.redeem_code(taken, "LTD-USED")
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/signup/code/", code_form(code=code))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Account.objects.filter(slug="acme").exists()
    assert mail.outbox == []


def test_the_signup_bot_defences_apply(public_client, signup_settings):
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    response = public_client.post("/signup/code/", code_form(website="http://spam.example"))
    assert "We could not accept this form" in response.content.decode()
    assert not Account.objects.filter(slug="acme").exists()
    with scopes_disabled():
        assert not CodeRedemption.objects.exists()


# --- The days an extra agent existed, the owner's e-mail, reuse ----------------------------------


def test_a_deactivated_and_reactivated_agent_is_not_billed_for_the_days_between(
    customer, clock, committed
):
    """Owner + 2 agents from 5 Jan (1 beyond the 2 included). Agent 2 is deactivated on
    10 Jan (the sweep notes it) and back on 20 Jan: billed 5-10 Jan (6 days) and 20-31 Jan
    (12 days), 18 days: 39.00 * 18 / 31 = 22.6452 → 22.65 + 21 % VAT 4.76 = 27.41."""
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    clock.move_to(datetime.datetime(2026, 1, 5, 9, tzinfo=datetime.UTC))
    committed(codes.redeem_code, customer, "LTD-0001")
    committed(actions.add_payment_method, customer, CARD)
    actions.update_billing_details(customer, registration_number="40000000000")
    agents = [make_user(customer, f"agent{n}@acme.test") for n in (1, 2)]
    committed(actions.cover_active_users, customer)
    clock.move_to(datetime.datetime(2026, 1, 10, 9, tzinfo=datetime.UTC))
    User.objects.filter(pk=agents[1].pk).update(is_active=False, deactivated_at=timezone.now())
    clock.move_to(datetime.datetime(2026, 1, 10, 9, 10, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)  # the sweep closes the interval at the deactivation time
    clock.move_to(datetime.datetime(2026, 1, 20, 9, tzinfo=datetime.UTC))
    User.objects.filter(pk=agents[1].pk).update(is_active=True, deactivated_at=None)
    committed(actions.cover_active_users, customer)
    clock.move_to(datetime.datetime(2026, 2, 1, 0, 5, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    [invoice] = invoices(customer)
    [line] = invoice.lines.all()
    assert (line.quantity, line.days_left, line.days_in_period) == (1, 18, 31)
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (2265, 476, 2741)


def test_the_owner_hears_the_moment_the_included_seats_are_exceeded(customer, committed):
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    committed(codes.redeem_code, customer, "LTD-0001")
    make_user(customer, "agent1@acme.test")
    committed(actions.cover_active_users, customer)
    assert mail.outbox == []  # 2 users: the included seats
    make_user(customer, "agent2@acme.test")
    committed(actions.cover_active_users, customer)
    [message] = mail.outbox
    assert message.to == ["owner@acme.test"]
    assert "Acme SIA now has 3 active users" in " ".join(message.body.split())
    assert "39.00 USD a month each, by the days they exist" in " ".join(message.body.split())
    assert "http://acme.saruna.test/account/" in message.body
    assert AuditEvent.objects.filter(verb="billing.included_seats_exceeded").count() == 1


def test_an_account_suspended_for_code_reuse_stays_closed(customer, committed):
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    committed(codes.redeem_code, customer, "LTD-0001")
    staff = make_user(None, "staff@provider.test")
    committed(codes.suspend_for_code_reuse, customer, staff=staff,
              reason="The code was also used by acme-2")
    customer.refresh_from_db()
    assert customer.status == Account.Status.SUSPENDED
    event = AuditEvent.objects.get(verb="billing.code_reuse_suspended")
    assert (event.actor_type, event.actor_label) == ("staff", "staff@provider.test")
    assert event.details == {"code": "LTD-0001", "reason": "The code was also used by acme-2"}
    # Neither a card nor full details open it again.
    committed(actions.add_payment_method, customer, CARD)
    customer.refresh_from_db()
    assert customer.status == Account.Status.SUSPENDED
    with pytest.raises(actions.BillingError, match="already suspended"):
        codes.suspend_for_code_reuse(customer, staff=staff, reason="again")


def restore_the_catalogue():
    """Tests that commit run on a database that earlier ones flushed: put the default plans
    and prices back with the code of the migration that makes them."""
    migration = importlib.import_module("saruna.billing.migrations.0003_default_catalogue")
    migration.create(apps, None)


# --- Concurrency ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_redemptions_of_one_code_make_one_account():
    restore_the_catalogue()
    count = 20
    codes.import_codes(name="Deal", redeem_by=timezone.now() + datetime.timedelta(days=1),
                       csv_text="LTD-RACE")
    barrier = threading.Barrier(count)

    def redeem(index):
        try:
            barrier.wait()
            codes.signup_with_code(code="LTD-RACE", company=f"Racer {index}",
                                   full_name=f"Racer {index}", email=f"r{index}@race.test",
                                   password=PASSWORD)
            return True
        except SignupError as error:  # what every other signup gets
            assert "already been redeemed" in error.message
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        outcomes = list(pool.map(redeem, range(count)))
    assert outcomes.count(True) == 1
    with scopes_disabled():
        assert CodeRedemption.objects.count() == 1
        assert Account.objects.filter(slug__startswith="racer").count() == 1
        assert BillingDocument.objects.count() == 0
