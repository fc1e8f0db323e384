"""Signing up on the provider's site and confirming the e-mail address."""

import re

import pytest
import time_machine
from django.core import mail
from django_scopes import scopes_disabled

from saruna.accounts.models import User
from saruna.accounts.signup import create_account, slug_base, suggest_slug
from saruna.core.models import Account, AuditEvent
from saruna.tickets.models import Department
from saruna.web.forms import _stamp
from tests.factories import make_account
from tests.tenancy import host_client

PASSWORD = "violet-harbour-1987"


@pytest.fixture(autouse=True)
def _signup_settings(settings):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0


def form_data(**overrides):
    data = {
        "full_name": "Anna Bērziņa",
        "email": "anna@example.com",
        "company": "Acme Ltd.",
        "subdomain": "",
        "password": PASSWORD,
        "adult": "on",
        "terms": "on",
        "website": "",
        "started": _stamp(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def accounts():
    return list(Account.objects.order_by("slug").values_list("slug", flat=True))


def sign_up(client, capture, **overrides):
    with capture(execute=True):
        return client.post("/signup/", form_data(**overrides))


def link_in(message):
    return re.search(r"http://\S+/verify/\S+/", message.body).group(0)


def test_signup_creates_an_unverified_account_and_mails_a_link(
    public_client, django_capture_on_commit_callbacks, settings
):
    response = sign_up(public_client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    account = Account.objects.get(slug="acme")
    assert account.status == Account.Status.UNVERIFIED
    assert account.name == "Acme Ltd."
    assert account.terms_version == settings.SARUNA_TERMS_VERSION
    assert account.terms_accepted_at is not None
    with scopes_disabled():
        owner = User.objects.get(account=account)
        assert AuditEvent.objects.filter(account=account, verb="account.created").exists()
    assert owner.role == "owner" and owner.full_name == "Anna Bērziņa"
    assert owner.adult_confirmed_at is not None
    assert owner.check_password(PASSWORD)
    with scopes_disabled():  # the help desk is ready: a default department with the owner
        assert list(Department.objects.get(account=account, public_id="default").agents.all()) == [
            owner]

    page = public_client.get(response["Location"])
    assert "Check your e-mail" in page.content.decode()
    assert "http://acme.saruna.test/" in page.content.decode()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anna@example.com"]
    assert link_in(mail.outbox[0]).startswith("http://acme.saruna.test/verify/")


def test_following_the_link_activates_and_logs_in(
    public_client, django_capture_on_commit_callbacks
):
    sign_up(public_client, django_capture_on_commit_callbacks)
    account = Account.objects.get(slug="acme")
    browser = host_client(account)
    response = browser.get(link_in(mail.outbox[0]).split("saruna.test", 1)[1], follow=True)
    assert response.status_code == 200
    assert "Your e-mail address is confirmed" in response.content.decode()
    assert "Anna Bērziņa" in response.content.decode()  # logged in: her name in the header
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE and account.verified_at is not None
    with scopes_disabled():
        assert AuditEvent.objects.filter(account=account, verb="account.verified").count() == 1

    again = host_client(account).get(link_in(mail.outbox[0]).split("saruna.test", 1)[1])
    assert again.status_code == 200
    assert "already confirmed" in again.content.decode()
    with scopes_disabled():
        assert AuditEvent.objects.filter(account=account, verb="account.verified").count() == 1


def test_tampered_or_other_accounts_link_is_refused(
    public_client, django_capture_on_commit_callbacks
):
    sign_up(public_client, django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0]).split("saruna.test", 1)[1]
    account = Account.objects.get(slug="acme")
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = host_client(account).get(tampered)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    other = make_account("other", status=Account.Status.UNVERIFIED)
    response = host_client(other).get(path)
    assert response.status_code == 400
    for acc in (account, other):
        acc.refresh_from_db()
        assert acc.status == Account.Status.UNVERIFIED


def test_expired_link_is_refused_and_a_new_one_can_be_sent(
    public_client, django_capture_on_commit_callbacks
):
    with time_machine.travel("2026-03-01 09:00:00", tick=False) as clock:
        sign_up(public_client, django_capture_on_commit_callbacks)
        account = Account.objects.get(slug="acme")
        path = link_in(mail.outbox[0]).split("saruna.test", 1)[1]
        clock.shift(8 * 24 * 3600)
        browser = host_client(account)
        response = browser.get(path)
        assert response.status_code == 400
        assert "expired" in response.content.decode()
        account.refresh_from_db()
        assert account.status == Account.Status.UNVERIFIED

        with django_capture_on_commit_callbacks(execute=True):
            browser.post("/verify/resend/")
        assert len(mail.outbox) == 2
        response = browser.get(link_in(mail.outbox[1]).split("saruna.test", 1)[1])
        assert response.status_code == 302
        account.refresh_from_db()
        assert account.status == Account.Status.ACTIVE


def test_resend_from_the_check_your_email_page(public_client, django_capture_on_commit_callbacks):
    sign_up(public_client, django_capture_on_commit_callbacks)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = public_client.post("/signup/resend/", follow=True)
        assert "sent the confirmation e-mail again" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/signup/resend/", follow=True)
    assert "Please try later" in response.content.decode()
    assert len(mail.outbox) == 4  # the first mail and three resends


def test_duplicate_company_gets_a_numeric_suffix(public_client, django_capture_on_commit_callbacks):
    make_account("acme")
    response = sign_up(public_client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert accounts() == ["acme", "acme-2"]
    assert "http://acme-2.saruna.test/" in public_client.get("/signup/done/").content.decode()


def test_the_same_person_may_own_two_accounts(public_client, django_capture_on_commit_callbacks):
    sign_up(public_client, django_capture_on_commit_callbacks)
    sign_up(public_client, django_capture_on_commit_callbacks, company="Beta SIA")
    assert accounts() == ["acme", "beta"]


@pytest.mark.parametrize("subdomain", ["www", "admin", "api", "mail", "static", "saruna"])
def test_reserved_subdomain_is_refused(
    public_client, subdomain, django_capture_on_commit_callbacks
):
    response = sign_up(public_client, django_capture_on_commit_callbacks, subdomain=subdomain)
    assert response.status_code == 200
    assert "This address is reserved" in response.content.decode()
    assert accounts() == []


def test_taken_or_malformed_subdomain_is_refused(
    public_client, django_capture_on_commit_callbacks
):
    make_account("taken")
    response = sign_up(public_client, django_capture_on_commit_callbacks, subdomain="taken")
    assert "already taken" in response.content.decode()
    response = sign_up(public_client, django_capture_on_commit_callbacks, subdomain="-bad-")
    assert "lower-case letters" in response.content.decode()
    assert accounts() == ["taken"]


def test_chosen_subdomain_is_used(public_client, django_capture_on_commit_callbacks):
    sign_up(public_client, django_capture_on_commit_callbacks, subdomain="Helpdesk-42")
    assert accounts() == ["helpdesk-42"]


def test_reserved_company_name_never_gets_the_reserved_slug(
    public_client, django_capture_on_commit_callbacks
):
    sign_up(public_client, django_capture_on_commit_callbacks, company="Support")
    assert accounts() == ["support-2"]


@pytest.mark.parametrize(
    ("company", "slug"),
    [
        ("Acme Ltd.", "acme"),
        ("Ācme Sīļķe SIA", "acme-silke"),
        ("SIA Ābeles", "abeles"),
        ("Ромашка ООО", "romashka"),  # noqa: RUF001 (Cyrillic on purpose)
        ("北京咨询", "bei-jing-zi-xun"),
        ("Müller & Söhne GmbH", "muller-sohne"),
        ("Inc", "inc"),
        ("!!!", "account"),
    ],
)
def test_slug_from_company_name(company, slug):
    assert slug_base(company) == slug


def test_slug_fits_a_dns_label_with_its_suffix(db):
    long_name = "Very " * 30 + "Long Company"
    base = slug_base(long_name)
    assert len(base) <= 63 and not base.endswith("-")
    make_account(base)
    second = suggest_slug(long_name)
    assert len(second) <= 63 and second.endswith("-2")


def test_idn_company_signup(public_client, django_capture_on_commit_callbacks):
    response = sign_up(public_client, django_capture_on_commit_callbacks,
                       company="Ācme Sīļķe SIA")
    assert response.status_code == 302
    assert accounts() == ["acme-silke"]
    assert Account.objects.get().name == "Ācme Sīļķe SIA"


def test_honeypot_submission_creates_nothing(public_client, django_capture_on_commit_callbacks):
    response = sign_up(public_client, django_capture_on_commit_callbacks,
                       website="http://spam.example")
    assert response.status_code == 200
    assert "We could not accept this form" in response.content.decode()
    assert accounts() == [] and mail.outbox == []


def test_too_fast_submission_creates_nothing(
    public_client, settings, django_capture_on_commit_callbacks
):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 3
    with time_machine.travel("2026-03-01 09:00:00", tick=False) as clock:
        data = form_data()
        clock.shift(1)
        response = public_client.post("/signup/", data)
        assert "We could not accept this form" in response.content.decode()
        assert accounts() == []
        clock.shift(5)
        with django_capture_on_commit_callbacks(execute=True):
            response = public_client.post("/signup/", data)
        assert response.status_code == 302
        assert accounts() == ["acme"]


def test_missing_or_forged_timestamp_creates_nothing(
    public_client, django_capture_on_commit_callbacks
):
    for started in (None, "", "1700000000", _stamp() + "x"):
        response = sign_up(public_client, django_capture_on_commit_callbacks, started=started)
        assert "We could not accept this form" in response.content.decode()
    assert accounts() == []


def test_rate_limit_per_ip(public_client, settings, django_capture_on_commit_callbacks):
    settings.SARUNA_SIGNUP_RATE_LIMIT = "2/h"
    for n in range(2):
        sign_up(public_client, django_capture_on_commit_callbacks, company=f"Firm {n}",
                email=f"p{n}@example.com")
    response = sign_up(public_client, django_capture_on_commit_callbacks, company="Third")
    assert response.status_code == 200
    assert "Too many attempts" in response.content.decode()
    assert accounts() == ["firm-0", "firm-1"]
    # Another address is not affected.
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/signup/", form_data(company="Third"),
                                      REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 302


def test_form_errors_do_not_count_against_the_rate_limit(
    public_client, settings, django_capture_on_commit_callbacks
):
    settings.SARUNA_SIGNUP_RATE_LIMIT = "1/h"
    for _ in range(3):
        sign_up(public_client, django_capture_on_commit_callbacks, password="short")
    assert sign_up(public_client, django_capture_on_commit_callbacks).status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "short1"}, "too short"),
        ({"password": "password123"}, "too common"),
        ({"password": "anna@example.com1"}, "too similar"),
        ({"adult": None}, "18 or older"),
        ({"terms": None}, "accept the Terms of Service"),
        ({"email": "not-an-address"}, "valid email"),
        ({"company": "   "}, "required"),
    ],
)
def test_bad_input_is_a_form_error_and_creates_nothing(
    public_client, overrides, message, django_capture_on_commit_callbacks
):
    response = sign_up(public_client, django_capture_on_commit_callbacks, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert accounts() == [] and mail.outbox == []


def test_slug_preview_shows_the_address(public_client):
    make_account("acme")
    response = public_client.get("/signup/slug-preview/", {"company": "Acme Ltd."})
    assert "http://acme-2.saruna.test/" in response.content.decode()
    response = public_client.get("/signup/slug-preview/", {"company": "x", "subdomain": "www"})
    assert "reserved" in response.content.decode()
    response = public_client.get("/signup/slug-preview/", {"subdomain": "acme"})
    assert "already taken" in response.content.decode()


def test_signup_page_shows_the_fields(public_client):
    page = public_client.get("/signup/").content.decode()
    for text in ("Full name", "E-mail", "Company or organisation", "Password",
                 "I am 18 or older", "I accept the Terms of Service", 'class="hp-field"',
                 'name="started"', 'hx-get="/signup/slug-preview/"'):
        assert text in page


def test_create_account_refuses_a_taken_slug_and_leaves_nothing(db):
    make_account("acme")
    from saruna.accounts.signup import SignupError

    with pytest.raises(SignupError) as error:
        create_account(company="Acme", full_name="A B", email="a@example.com",
                       password=PASSWORD, slug="acme")
    assert error.value.field == "subdomain"
    assert accounts() == ["acme"]
