"""Terms §8: the owner's "Cancel account" under My account, and the provider closing accounts
nobody uses. Both close at once and erase every row and file of the account for good, while
the invoices, payments and refunds stay; nothing is charged afterwards and the other
accounts on the installation are untouched."""

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import IntegrityError, transaction
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.billing import actions, prepaid
from saruna.billing.models import BillingDocument, Payment, Refund, Subscription
from saruna.contacts import actions as contacts
from saruna.core import closing
from saruna.core.models import Account, AccountClosure
from saruna.core.tasks import sweep_inactive_accounts
from saruna.mail.models import InboundMail, Mailbox
from saruna.mail.receive import store_inbound
from saruna.search.models import TicketDocument
from saruna.tickets import actions as tickets
from saruna.tickets.models import Message, StoredFile, Ticket
from tests.billing.conftest import START, invoices
from tests.factories import PASSWORD, make_account, make_user
from tests.tenancy import TenantPair, host_client

RAW_MAIL = (b"From: Customer <customer@example.com>\r\nTo: support@acme.saruna.test\r\n"
            b"Subject: Printer\r\nMessage-ID: <1@example.com>\r\n\r\nIt does not print.\r\n")


def fill(account, owner, committed) -> Path:
    """Content of every kind (tickets, messages, a file, contacts, a company, a mailbox and
    its mail, search documents, a login session); answers the account's file folder."""
    host_client(account).post("/login/", {"email": owner.email, "password": PASSWORD})
    with scope(account=account):
        company = contacts.create_company(account, name="Customer Ltd")
        contact = contacts.create_contact(account, firstname="Carla",
                                          emails=["customer@example.com"], company=company)
        stored = tickets.store_file(account, "secret.txt", b"secret", actor=owner)
        tickets.open_ticket(account, "Printer", "It is broken", contact, actor=owner,
                            files=[stored])
        mailbox = Mailbox.objects.create(account=account, name="Support",
                                         email=f"support@{account.slug}.test")
    committed(store_inbound, account, RAW_MAIL, source=InboundMail.Source.SMTP, mailbox=mailbox)
    folder = Path(settings.MEDIA_ROOT) / account.pk
    assert any(path.is_file() for path in folder.rglob("*"))
    return folder


def rows_left(account) -> dict[str, int]:
    with scopes_disabled():
        counts = {model._meta.label: model._base_manager.filter(account_id=account.pk).count()
                  for model in closing._content_models()}
    return {label: count for label, count in counts.items() if count}


def cancel(client, slug, password=PASSWORD):
    return client.post("/account/cancel/", {"slug": slug, "password": password})


@pytest.mark.parametrize("slug,password", [("acme-typo", PASSWORD), ("acme", "wrong password")])
def test_a_wrong_address_or_password_changes_nothing(paying, slug, password, committed):
    account = paying(cycle="monthly", seats=1)
    page = host_client(account, account.owner)
    assert "cannot be restored" in page.get("/account/cancel/").content.decode()
    response = committed(cancel, page, slug, password)
    assert response.status_code == 400
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    assert page.get("/account/").status_code == 200


def test_only_the_owner_may_cancel(paying):
    account = paying(cycle="monthly", seats=1)
    agent = make_user(account, "agent@acme.test")
    assert cancel(host_client(account, agent), "acme").status_code == 403
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE


def test_cancelling_closes_erases_content_keeps_invoices_and_charges_nothing_more(
        paying, committed, clock):
    account = paying(cycle="monthly", seats=1)
    owner = account.owner
    folder = fill(account, owner, committed)
    with scope(account=account):
        assert Ticket.objects.count() == 2 and Message.objects.exists()
        assert StoredFile.objects.exists() and TicketDocument.objects.exists()
    first_invoices = invoices(account)

    page = host_client(account, owner)
    response = committed(cancel, page, "ACME")
    assert response.status_code == 200
    assert "Account cancelled" in response.content.decode()

    with scopes_disabled():
        account.refresh_from_db()
        assert account.status == Account.Status.CLOSED
        closure = AccountClosure.objects.get(account=account)
        assert (closure.slug, closure.reason, closure.actor_label) == (
            "acme", "cancelled", "owner@acme.test")
        assert closure.erased_at is not None
        assert not User.objects.filter(account=account).exists()
        assert not Session.objects.exists()
    assert rows_left(account) == {}
    assert not folder.exists()
    assert mail.outbox[-1].subject == "Acme SIA is closed and its content deleted"

    # The host is gone, the address stays taken, nobody logs in.
    assert page.get("/account/").status_code == 404
    login = host_client(account).post("/login/", {"email": owner.email, "password": PASSWORD})
    assert login.status_code == 404
    with pytest.raises(IntegrityError), transaction.atomic():
        make_account("acme")

    # A year on, the billing sweep charges nothing and the invoices are all still there.
    clock.move_to(START + datetime.timedelta(days=400))
    committed(actions.run_due_jobs)
    with scope(account=account):
        assert invoices(account) == first_invoices
        assert Payment.objects.count() == 1
        assert Subscription.objects.get().status == Subscription.Status.CANCELLED


def test_unused_prepaid_credit_is_half_refunded_and_kept_on_record(paying, committed, clock):
    account = paying(cycle="annual", seats=1)
    committed(prepaid.add_prepaid_credit, account, "390.00")
    committed(cancel, host_client(account, account.owner), "acme")
    with scope(account=account):
        # Paid 390.00 + 21 % VAT = 471.90, none used yet: half of it comes back.
        assert Refund.objects.get().amount_cents == 23595
        assert BillingDocument.objects.count() == 2
    assert rows_left(account) == {}


def test_erasing_a_tenant_leaves_the_other_untouched(db, committed):
    pair = TenantPair.create()
    folder_a = fill(pair.a, pair.owner_a, committed)
    folder_b = fill(pair.b, pair.owner_b, committed)
    before = rows_left(pair.b)
    committed(cancel, pair.client_a(), "alpha")
    assert rows_left(pair.a) == {}
    assert not folder_a.exists()
    assert rows_left(pair.b) == before
    assert any(path.is_file() for path in folder_b.rglob("*"))
    assert pair.client_b().get("/account/").status_code == 200


def test_erasing_again_is_harmless(paying, committed):
    account = paying(cycle="monthly", seats=1)
    committed(cancel, host_client(account, account.owner), "acme")
    committed(closing.close_and_erase, account, reason=AccountClosure.Reason.CANCELLED)
    assert AccountClosure.objects.filter(account=account).count() == 1
    assert rows_left(account) == {}


# --- Inactivity ----------------------------------------------------------------------------------


def days(n):
    return START + datetime.timedelta(days=n)


def sweep(clock, committed, day):
    clock.move_to(days(day))
    committed(sweep_inactive_accounts.call_local)


def warnings():
    return [m for m in mail.outbox if "unless someone logs in" in m.subject]


@pytest.fixture
def idle(clock, free_plan, committed):
    """A free account whose owner logged in once, at START."""
    account = make_account("idle", name="Idle Ltd", plan=free_plan)
    owner = make_user(account, "owner@idle.test", role="owner")
    with scope(account=account):
        committed(actions.start_subscription, account, plan=free_plan, cycle="monthly", seats=1)
    host_client(account).post("/login/", {"email": owner.email, "password": PASSWORD})
    mail.outbox.clear()
    return account


def test_four_weeks_idle_warns_the_owners_once(idle, clock, committed):
    sweep(clock, committed, 27)
    assert warnings() == []
    sweep(clock, committed, 28)
    [warning] = warnings()
    assert warning.to == ["owner@idle.test"]
    assert warning.subject == "Idle Ltd will be deleted on 2026-02-26 unless someone logs in"
    assert "log in before then" in warning.body
    sweep(clock, committed, 29)
    sweep(clock, committed, 40)
    assert len(warnings()) == 1


def test_eight_weeks_idle_closes_and_erases(idle, clock, committed):
    sweep(clock, committed, 28)
    sweep(clock, committed, 55)
    assert Account.objects.get(pk=idle.pk).status == Account.Status.ACTIVE
    sweep(clock, committed, 56)
    assert Account.objects.get(pk=idle.pk).status == Account.Status.CLOSED
    assert AccountClosure.objects.get(account=idle).reason == "inactive"
    assert rows_left(idle) == {}


def test_a_login_after_the_warning_starts_over(idle, clock, committed):
    sweep(clock, committed, 28)
    clock.move_to(days(50))
    host_client(idle).post("/login/", {"email": "owner@idle.test", "password": PASSWORD})
    sweep(clock, committed, 56)
    assert Account.objects.get(pk=idle.pk).status == Account.Status.ACTIVE
    assert len(warnings()) == 1
    sweep(clock, committed, 78)  # 4 weeks after that login: warned again
    assert len(warnings()) == 2


def test_a_late_warning_still_gives_four_weeks_notice(idle, clock, committed):
    sweep(clock, committed, 70)  # no sweep ran before: warned now, not erased
    [warning] = warnings()
    assert "2026-04-09" in warning.subject  # day 70 + 28
    sweep(clock, committed, 97)
    assert Account.objects.get(pk=idle.pk).status == Account.Status.ACTIVE
    sweep(clock, committed, 98)
    assert Account.objects.get(pk=idle.pk).status == Account.Status.CLOSED


def test_never_the_provider_or_a_paying_account(idle, paying, clock, committed, settings):
    customer = paying(cycle="monthly", seats=1)
    provider = make_account(settings.SARUNA_PROVIDER_ACCOUNT_SLUG, name="Provider")
    make_user(provider, "owner@provider.test", role="owner")
    mail.outbox.clear()
    for day in (28, 56, 84):
        sweep(clock, committed, day)
    assert Account.objects.get(pk=customer.pk).status == Account.Status.ACTIVE
    assert Account.objects.get(pk=provider.pk).status == Account.Status.ACTIVE
    assert {m.to[0] for m in warnings()} == {"owner@idle.test"}
