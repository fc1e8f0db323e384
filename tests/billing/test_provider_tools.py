"""The provider's billing tools on the base domain, for staff only: accounts to offer an
enterprise agreement, limit overrides, manual credit notes, lifetime-code batches and the
suspension of accounts that reused a code. Every change lands in the customer's audit log."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from saruna.billing import catalogue, codes
from saruna.billing.models import BillingDocument, CodeBatch, LimitOverride
from saruna.contacts import actions as contacts
from saruna.core.models import Account, AuditEvent
from saruna.tickets import actions as tickets
from tests.billing.conftest import invoices
from tests.factories import make_account, make_user
from tests.tenancy import host_client

# Far ahead: the codes stay redeemable whatever day the suite runs.
DEADLINE = datetime.datetime(2099, 11, 30, 23, 59, tzinfo=datetime.UTC)


def test_only_provider_staff_get_in(db, owner, staff_client):
    for path in ("/provider/billing/", "/provider/billing/codes/",
                 f"/provider/billing/accounts/{owner.account.slug}/"):
        assert host_client(None).get(path).status_code == 302  # to the admin's login
        assert staff_client.get(path).status_code == 200
    # An account's owner is nobody on the base domain.
    assert host_client(None, owner).get("/provider/billing/").status_code == 302


def test_large_accounts_are_flagged_for_an_enterprise_offer(staff_client, settings):
    settings.SARUNA_ENTERPRISE_END_USERS = 3
    settings.SARUNA_ENTERPRISE_TICKETS_PER_AGENT = 2
    crowded, busy, small = (make_account(slug) for slug in ("crowded", "busy", "small"))
    make_user(busy, "agent@busy.test")
    with scope(account=crowded):
        for n in range(3):
            contacts.create_contact(crowded, firstname=f"Customer {n}")
    with scope(account=busy):
        customer = contacts.create_contact(busy, firstname="Busy customer")
        for n in range(2):
            tickets.open_ticket(busy, f"Question {n}", "Hello", customer)
    with scope(account=small):
        tickets.open_ticket(small, "One question", "Hello",
                            contacts.create_contact(small, firstname="Small customer"))
    page = staff_client.get("/provider/billing/").content.decode()
    assert "Crowded" in page and "Busy" in page and "Small" not in page
    assert "<strong>3</strong>" in page  # crowded's end users
    assert "<strong>2</strong>" in page  # busy's 2 tickets for its one agent


def test_limits_are_overridden_and_audited(staff_client, account):
    response = staff_client.post(f"/provider/billing/accounts/{account.slug}/limits/", {
        "max_agents": "40", "max_mailboxes": "12", "max_chat_buttons": "",
        "history_days": "", "api_requests_per_minute": "600",
    })
    assert response.status_code == 302
    account.refresh_from_db()
    limits = catalogue.limits_of(account)
    assert (limits.agents, limits.mailboxes, limits.api_requests_per_minute) == (40, 12, 600)
    with scope(account=account):
        assert LimitOverride.objects.get().max_chat_buttons is None  # the plan's
        event = AuditEvent.objects.get(verb="billing.limits_overridden")
    assert event.actor_label == "staff@provider.test"
    assert event.details["max_agents"] == 40 and event.details["limits"]["max_mailboxes"] == 12
    page = staff_client.get(f"/provider/billing/accounts/{account.slug}/").content.decode()
    assert "In force: 40 seats, 12 mailboxes" in page


def test_a_manual_credit_note_cancels_the_invoice_with_its_reason(paying, staff_client):
    account = paying(cycle="monthly", seats=1)
    [invoice] = invoices(account)
    url = f"/provider/billing/accounts/{account.slug}/credit-note/"
    assert staff_client.post(url, {"invoice": invoice.number, "reason": ""}).status_code == 400
    response = staff_client.post(url, {"invoice": invoice.number,
                                       "reason": "Goodwill: the outage of 3 January"})
    assert response.status_code == 302
    with scopes_disabled():
        note = BillingDocument.objects.get(kind=BillingDocument.Kind.CREDIT_NOTE)
        event = AuditEvent.objects.get(verb="billing.credit_note_issued")
    assert note.credits == invoice and note.reason == "Goodwill: the outage of 3 January"
    assert (note.total_cents, note.tax_cents) == (invoice.total_cents, invoice.tax_cents)
    assert event.account == account and event.actor_label == "staff@provider.test"
    assert event.details == {"invoice": invoice.number,
                             "reason": "Goodwill: the outage of 3 January"}
    again = staff_client.post(url, {"invoice": invoice.number, "reason": "Twice"})
    assert "is already cancelled by a credit note" in again.content.decode()
    other = staff_client.post(url, {"invoice": "INV-1999-000001", "reason": "Nope"})
    assert "has no invoice INV-1999-000001" in other.content.decode()


def test_codes_are_imported_from_a_csv_file_and_looked_up(staff_client, account):
    upload = SimpleUploadedFile("codes.csv", b"code\nLTD-0001\nltd-0002\n", "text/csv")
    response = staff_client.post("/provider/billing/codes/", {
        "name": "AppSumo 2026", "redeem_by": "2099-11-30 23:59", "file": upload})
    assert response.status_code == 302
    batch = CodeBatch.objects.get()
    assert batch.redeem_by == DEADLINE
    assert list(batch.codes.values_list("code", flat=True)) == ["LTD-0001", "LTD-0002"]
    page = staff_client.get("/provider/billing/codes/").content.decode()
    assert "AppSumo 2026" in page and "2099-11-30 23:59" in page

    with scope(account=account):
        codes.redeem_code(account, "LTD-0002")
    found = staff_client.get("/provider/billing/codes/", {"code": "ltd-0002"}).content.decode()
    assert "LTD-0002 (AppSumo 2026) was redeemed" in found and account.name in found
    bad = SimpleUploadedFile("codes.csv", b"LTD-0001\n", "text/csv")
    refused = staff_client.post("/provider/billing/codes/", {
        "name": "Again", "redeem_by": "2099-11-30 23:59", "file": bad})
    assert refused.status_code == 400
    assert "“LTD-0001” was imported before." in refused.content.decode()


def test_an_account_that_reused_a_code_is_suspended_with_the_reason(staff_client, account,
                                                                  owner):
    codes.import_codes(name="Deal", redeem_by=DEADLINE, csv_text="LTD-0001")
    with scope(account=account):
        codes.redeem_code(account, "LTD-0001")
    url = f"/provider/billing/accounts/{account.slug}/code-reuse/"
    assert staff_client.post(url, {"reason": ""}).status_code == 400
    response = staff_client.post(url, {"reason": "Same code as a refunded AppSumo order"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == Account.Status.SUSPENDED
    with scope(account=account):
        event = AuditEvent.objects.get(verb="billing.code_reuse_suspended")
    assert event.details["reason"] == "Same code as a refunded AppSumo order"
    # The account's people see why, and the owner cannot buy their way back in.
    page = host_client(account, owner).get("/")
    assert page.status_code == 403
    assert "used for more than one account" in page.content.decode()
    assert host_client(account, owner).get("/account/").status_code == 403
