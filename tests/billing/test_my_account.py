"""'My account' on the account's host, as its owner uses it: the plan, period, seats, next
charge, prepaid credit, invoices and credit notes (PDF), payments, billing details with the
15-day correction, plan changes and the payment method. Only the owner gets in, also when
the account is suspended for billing; nothing of another account shows."""

import datetime

import pytest
from django.core import mail
from django_scopes import scope, scopes_disabled

from saruna.billing import actions, codes, documents
from saruna.billing.documents import LineDraft
from saruna.billing.models import BillingDocument, BillingProfile, DocumentLine, Subscription
from saruna.core.models import Account
from saruna.web.forms import _stamp
from tests.billing.conftest import CARD, START, invoices
from tests.factories import PASSWORD, make_user
from tests.tenancy import host_client


@pytest.fixture
def owner_page(customer):
    return host_client(customer, customer.owner)


def text(response):
    return " ".join(response.content.decode().split())


def test_a_new_signup_starts_the_14_day_trial(public_client, settings,
                                              django_capture_on_commit_callbacks):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/signup/", {
            "full_name": "Anna Bērziņa", "email": "anna@example.com", "company": "Acme Ltd.",
            "subdomain": "", "password": "violet-harbour-1987", "adult": "on", "terms": "on",
            "website": "", "started": _stamp()})
    account = Account.objects.get(slug="acme")
    with scope(account=account):
        subscription = Subscription.objects.get()
    assert account.plan.code == "all-inclusive"
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.trial_ends_at - subscription.started_at == datetime.timedelta(days=14)


def test_the_owner_sees_plan_seats_next_charge_invoices_and_payments(paying, owner_page):
    account = paying(cycle="annual", seats=3)
    make_user(account, "agent@acme.test")
    page = text(owner_page.get("/account/"))
    assert "All-inclusive · Active" in page
    assert "Annual" in page and "3 paid, 2 in use" in page
    assert "Current period</th><td>2026-01-01 \N{EN DASH} 2026-12-31" in page
    # 3 * 390.00 = 1170.00 + 21 % Latvian VAT 245.70
    assert "Next charge</th><td>2027-01-01: <strong>1,415.70 USD</strong>" in page
    assert "(1,170.00 USD + VAT 245.70 USD)" in page
    assert 'href="/account/documents/INV-2026-000001/">INV-2026-000001</a>' in page
    assert "Paid" in page and "Test card •••• 4242" in page


def test_invoices_download_as_pdf(paying, owner_page):
    paying(cycle="monthly", seats=1)
    response = owner_page.get("/account/documents/INV-2026-000001/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert owner_page.get("/account/documents/INV-2026-000099/").status_code == 404


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_my_account_is_the_owners_only(customer, role):
    person = make_user(customer, f"{role}@acme.test", role=role)
    assert host_client(customer, person).get("/account/").status_code == 403
    assert host_client(customer, person).post("/account/payment-method/",
                                              {"token": CARD}).status_code == 403
    assert "My account" not in host_client(customer, person).get("/users/").content.decode()
    assert host_client(customer).get("/account/").status_code == 302  # to the login page


def test_a_card_in_the_trial_ends_it_and_invoices(customer, owner_page, all_inclusive,
                                                  django_capture_on_commit_callbacks):
    actions.start_subscription(customer, plan=all_inclusive, cycle="monthly", seats=1)
    assert "Free until 2026-01-15 10:00" in text(owner_page.get("/account/"))
    refused = owner_page.post("/account/payment-method/", {"token": "4242 4242 4242 4241"})
    assert refused.status_code == 400 and "The card number is not valid." in text(refused)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_page.post("/account/payment-method/", {"token": CARD})
    assert response.status_code == 302
    page = text(owner_page.get(response["Location"]))
    assert "Test card •••• 4242 is now the payment method." in page
    assert "INV-2026-000001" in page and "47.19 USD" in page and "Paid" in page
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_more_seats_on_an_annual_plan_are_charged_for_the_rest_of_the_period(
    paying, clock, django_capture_on_commit_callbacks
):
    account = paying(cycle="annual", seats=1)
    clock.move_to(datetime.datetime(2026, 3, 10, 10, tzinfo=datetime.UTC))
    owner_page = host_client(account, account.owner)  # a login of the day: sessions expire
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_page.post("/account/subscription/", {
            "plan": "all-inclusive", "cycle": "annual", "seats": "3"})
    assert response.status_code == 302
    # 2 * 390.00 * 297 / 365 (10 Mar - 31 Dec) = 634.68 + 133.28 VAT = 767.96
    assert invoices(account)[-1].total_cents == 76796
    assert "767.96 USD" in text(owner_page.get("/account/"))
    too_few = owner_page.post("/account/subscription/", {
        "plan": "all-inclusive", "cycle": "annual", "seats": "0"})
    assert too_few.status_code == 400


def test_a_plan_change_that_fails_changes_nothing(paying, owner_page):
    account = paying(cycle="monthly", seats=2)
    make_user(account, "agent@acme.test")
    response = owner_page.post("/account/subscription/", {
        "plan": "free", "cycle": "annual", "seats": "1"})
    assert response.status_code == 400
    assert "deactivate users before removing their seats" in text(response)
    subscription = Subscription.objects.get()
    assert (subscription.plan.code, subscription.next_cycle, subscription.seats) == (
        "all-inclusive", "", 2)


def test_details_are_corrected_within_15_days_and_refused_after(paying, owner_page, clock):
    account = paying(cycle="monthly", seats=1)
    details = {"name": "Līga Ozola", "company": "Acme Baltic SIA",
               "address": "Brīvības iela 1\nRīga, LV-1010", "country": "lv",
               "email": "billing@acme.test", "registration_number": "", "vat_number": ""}
    clock.move_to(START + datetime.timedelta(days=10))
    page = text(owner_page.get("/account/"))
    assert "Until 2026-01-16 you can correct invoice INV-2026-000001" in page
    assert "Save and correct invoice INV-2026-000001" in page
    response = owner_page.post("/account/details/", {**details, "intent": "correct"})
    page = text(owner_page.get(response["Location"]))
    assert ("Billing details corrected: credit note CN-2026-000001 cancels the invoice, and "
            "INV-2026-000002 replaces it with the new details.") in page
    assert "cancels INV-2026-000001" in page and "replaces INV-2026-000001" in page
    assert invoices(account)[-1].buyer["company"] == "Acme Baltic SIA"

    clock.move_to(START + datetime.timedelta(days=16))
    owner_page = host_client(account, account.owner)  # the earlier login has expired
    page = text(owner_page.get("/account/"))
    refusal = ("Invoice INV-2026-000002 was issued more than 15 days ago, so it can no longer "
               "be corrected. The new details apply from the next invoice.")
    assert refusal in page and "Save and correct" not in page
    # A page opened in time and sent too late is refused the same way.
    response = owner_page.post("/account/details/", {
        **details, "company": "Acme Nordic SIA", "intent": "correct"})
    assert refusal in text(owner_page.get(response["Location"]))
    assert BillingDocument.objects.filter(kind=BillingDocument.Kind.CREDIT_NOTE).count() == 1
    assert BillingProfile.objects.get().company == "Acme Nordic SIA"  # for the next invoice


def test_billing_details_are_shown_escaped(customer, owner_page):
    script = '<script>alert("x")</script>'
    response = owner_page.post("/account/details/", {
        "name": script, "company": f"Acme {script}", "address": script, "country": "LV",
        "email": "", "registration_number": "", "vat_number": "", "intent": "save"})
    assert response.status_code == 302
    page = owner_page.get("/account/").content.decode()
    assert script not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert BillingProfile.objects.get().company == f"Acme {script}"


def test_a_bad_vat_number_is_a_form_error(customer, owner_page):
    response = owner_page.post("/account/details/", {
        "name": "", "company": "Acme", "address": "", "country": "LV", "email": "",
        "registration_number": "", "vat_number": "LV12345678901", "intent": "save"})
    assert response.status_code == 400
    assert 'id="id_vat_number"' in response.content.decode()
    assert BillingProfile.objects.get().vat_number == ""


def test_prepaid_credit_and_its_expiry_are_shown(paying, owner_page, clock,
                                                 django_capture_on_commit_callbacks):
    paying(cycle="monthly", seats=2)
    page = text(owner_page.get("/account/"))
    assert 'name="amount" value="780.00"' in page  # a year at the current seats
    with django_capture_on_commit_callbacks(execute=True):
        owner_page.post("/account/prepaid/", {"amount": "780.00"})
    page = text(owner_page.get("/account/"))
    assert "Prepaid credit added: invoice INV-2026-000002." in page
    # It starts when the paid month ends (1 Feb) and lasts 365 days at 2 seats.
    assert "780.00 USD left of 780.00 USD; pays from 2026-02-01 until 2027-01-31" in page


def test_the_owner_restores_a_suspended_account_with_a_card(customer, all_inclusive, clock,
                                                             django_capture_on_commit_callbacks):
    actions.start_subscription(customer, plan=all_inclusive)
    clock.move_to(START + datetime.timedelta(days=15))
    actions.run_due_jobs()
    customer.refresh_from_db()
    assert customer.status == Account.Status.SUSPENDED
    agent = make_user(customer, "agent@acme.test")
    # The agent sees why and who can fix it; nothing else opens.
    page = host_client(customer, agent).get("/")
    assert page.status_code == 403
    assert "Its trial ended without a payment method" in text(page)
    assert "Please tell the account owner." in text(page)
    assert host_client(customer, agent).get("/account/").status_code == 403
    # The owner logs in and reaches My account.
    browser = host_client(customer)
    assert browser.get("/login/").status_code == 200
    browser.post("/login/", {"email": "owner@acme.test", "password": PASSWORD})
    assert "Open My account" in text(browser.get("/"))
    assert browser.get("/users/").status_code == 403
    assert "suspended until a payment method is added" in text(browser.get("/account/"))
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/account/payment-method/", {"token": CARD})
    customer.refresh_from_db()
    assert customer.status == Account.Status.ACTIVE
    assert browser.get("/users/").status_code == 200


def test_a_blocked_lifetime_account_names_what_is_missing(customer, clock,
                                                          django_capture_on_commit_callbacks):
    codes.import_codes(name="Deal", csv_text="LTD-0001",
                       redeem_by=datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC))
    codes.redeem_code(customer, "LTD-0001")
    agents = [make_user(customer, f"agent{n}@acme.test") for n in (1, 2)]
    actions.cover_active_users(customer)
    clock.move_to(datetime.datetime(2026, 2, 1, 0, 5, tzinfo=datetime.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        actions.run_due_jobs()
    page = text(host_client(customer, agents[0]).get("/"))
    assert "more agents than the seats its lifetime code includes" in page
    owner_page = host_client(customer, customer.owner)
    page = text(owner_page.get("/account/"))
    assert "Missing: company registration number, a payment method." in page
    assert "Lifetime code</th><td>LTD-0001" in page and "3 users active; 2 seats" in page
    assert "is closed until its billing details are complete" in mail.outbox[-1].subject
    owner_page.post("/account/payment-method/", {"token": CARD})
    with django_capture_on_commit_callbacks(execute=True):
        owner_page.post("/account/details/", {
            "name": "Līga Ozola", "company": "Acme SIA", "address": "Brīvības iela 1",
            "country": "LV", "email": "billing@acme.test",
            "registration_number": "40000000000", "vat_number": "", "intent": "save"})
    customer.refresh_from_db()
    assert customer.status == Account.Status.ACTIVE
    assert invoices(customer)[0].buyer["registration_number"] == "40000000000"


def test_tenant_b_sees_nothing_of_tenant_a(two_tenants):
    a = two_tenants.a
    with scope(account=a):
        invoice = documents.issue_invoice(a, [LineDraft(
            item=DocumentLine.Item.PLAN, description="Alpha seat", quantity=1,
            unit_cents=3900)], currency="USD")
    two_tenants.assert_isolated(f"/account/documents/{invoice.number}/")
    page = two_tenants.client_b().get("/account/").content.decode()
    assert invoice.number not in page and "Alpha" not in page
    with scopes_disabled():
        assert not BillingDocument.objects.filter(account=two_tenants.b).exists()


def test_saving_other_details_leaves_a_verified_vat_number_alone(customer, owner_page):
    BillingProfile.objects.filter(account=customer).update(
        vat_number="LV40003245752", vat_status=BillingProfile.VatStatus.VALID)
    owner_page.post("/account/details/", {
        "name": "Līga Ozola", "company": "Acme Baltic SIA", "address": "Brīvības iela 1",
        "country": "LV", "email": "billing@acme.test", "registration_number": "",
        "vat_number": "LV40003245752", "intent": "save"})
    profile = BillingProfile.objects.get()
    assert profile.company == "Acme Baltic SIA"
    assert profile.vat_status == BillingProfile.VatStatus.VALID  # VIES was not asked again


def test_card_numbers_are_typed_in_only_for_the_offline_gateway(paying, owner_page, settings,
                                                                 django_capture_on_commit_callbacks):
    paying(cycle="monthly", seats=1)
    with django_capture_on_commit_callbacks(execute=True):
        owner_page.post("/account/payment-method/", {"token": "paypal:anna@acme.test"})
    page = text(owner_page.get("/account/"))
    assert "In use: PayPal anna@acme.test" in page and 'name="token"' in page
    settings.SARUNA_PAYMENT_GATEWAY = "stripe"
    assert 'name="token"' not in text(owner_page.get("/account/"))
