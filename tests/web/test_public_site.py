"""The provider's public site on the base domain."""

import pytest
from django.core import mail
from django_scopes import scope

from saruna.tickets.models import ChannelType, Message, Ticket
from saruna.web.forms import _stamp
from saruna.web.models import CookieConsent, DemoBooking
from tests.factories import make_account, make_user
from tests.tenancy import host_client


def test_landing_page_links_the_entry_points(public_client):
    response = public_client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "live chat" in page.lower()
    for link in ('href="/signup/"', 'href="/demo/"', 'href="/login/"'):
        assert link in page


def test_landing_is_only_on_the_base_domain(account, owner):
    # An account's host shows its own dashboard (login first), never the provider's site.
    response = host_client(account).get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- Finding an account -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["acme", "ACME", "acme.saruna.test", "acme.saruna.test:8000",
     "http://acme.saruna.test:8000/tickets/", "Acme", "Acme Ltd."],
)
def test_find_account_redirects_to_its_login(public_client, account, address):
    response = public_client.post("/login/", {"address": address})
    assert response.status_code == 302
    assert response["Location"] == "http://acme.saruna.test/login/"


@pytest.mark.parametrize("address", ["nosuch", "nosuch.saruna.test", "http://evil.example/"])
def test_unknown_account_is_a_form_error(public_client, account, address):
    response = public_client.post("/login/", {"address": address})
    assert response.status_code == 200
    assert "We could not find that account" in response.content.decode()


def test_closed_account_is_not_found(public_client):
    make_account("gone", status="closed")
    response = public_client.post("/login/", {"address": "gone"})
    assert "We could not find that account" in response.content.decode()


def test_forgot_account_mails_the_list_and_answers_the_same_either_way(
    public_client, django_capture_on_commit_callbacks
):
    acme, beta = make_account("acme", name="Acme"), make_account("beta", name="Beta")
    make_user(acme, "pat@example.com")
    make_user(beta, "pat@example.com", role="owner")
    with django_capture_on_commit_callbacks(execute=True):
        known = public_client.post("/login/forgot/", {"email": "Pat@Example.com"}, follow=True)
        unknown = public_client.post("/login/forgot/", {"email": "nobody@example.com"},
                                     follow=True)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.com"]
    assert "http://acme.saruna.test/login/" in mail.outbox[0].body
    assert "http://beta.saruna.test/login/" in mail.outbox[0].body
    say = "we have e-mailed you their addresses"
    assert say in known.content.decode() and say in unknown.content.decode()


def test_forgot_account_is_rate_limited(public_client, django_capture_on_commit_callbacks):
    make_user(make_account("acme"), "pat@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            public_client.post("/login/forgot/", {"email": "pat@example.com"})
        response = public_client.post("/login/forgot/", {"email": "pat@example.com"},
                                      follow=True)
    assert "Too many attempts" in response.content.decode()
    assert len(mail.outbox) == 3


# --- Terms, privacy, cookies --------------------------------------------------------------


@pytest.mark.parametrize(("path", "heading"), [("/terms/", "Terms of Service"),
                                               ("/privacy/", "Privacy policy")])
def test_terms_and_privacy_render_the_markdown(public_client, path, heading):
    response = public_client.get(path)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.content.decode()


def test_terms_say_what_the_requirements_ask(public_client):
    page = public_client.get("/terms/").content.decode()
    for text in ("One login is for one person", "14 days", "prepaid", "No refunds",
                 "30 days' notice", "Support access"):
        assert text in page


def test_latvian_versions_with_english_fallback(public_client, settings, tmp_path):
    page = public_client.get("/terms/", HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Pakalpojuma noteikumi" in page
    settings.SARUNA_CONTENT_DIR = tmp_path
    (tmp_path / "terms.md").write_text("# Our terms\n\nHello <script>alert(1)</script>")
    page = public_client.get("/terms/", HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "<h1>Our terms</h1>" in page
    assert "<script>alert(1)" not in page
    assert public_client.get("/privacy/").status_code == 404


def test_cookie_notice_until_answered_without_js(public_client):
    page = public_client.get("/demo/").content.decode()
    assert 'id="cookie-notice"' in page
    response = public_client.post("/cookies/consent/", {"choice": "necessary", "next": "/demo/"},
                                  HTTP_USER_AGENT="Firefox/130", REMOTE_ADDR="203.0.113.77")
    assert response.status_code == 302 and response["Location"] == "/demo/"
    consent = CookieConsent.objects.get()
    assert consent.analytics is False
    assert consent.ip_network == "203.0.113.0/24"
    assert consent.user_agent == "Firefox/130"
    assert consent.consent_id in response.cookies["saruna_consent"].value
    assert 'id="cookie-notice"' not in public_client.get("/").content.decode()


def test_cookie_consent_with_htmx_and_a_changed_mind(public_client, settings):
    response = public_client.post("/cookies/consent/", {"choice": "all"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    response = public_client.post("/cookies/consent/", {"choice": "necessary"})
    first, second = CookieConsent.objects.order_by("given_at", "pk")
    assert first.analytics and not second.analytics
    assert first.consent_id == second.consent_id
    assert first.policy_version == settings.SARUNA_TERMS_VERSION


def test_cookie_consent_refuses_other_answers_and_foreign_redirects(public_client):
    assert public_client.post("/cookies/consent/", {"choice": "maybe"}).status_code == 400
    response = public_client.post("/cookies/consent/",
                                  {"choice": "all", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert CookieConsent.objects.count() == 1


def test_no_cookie_notice_inside_an_account(owner_client):
    assert b"cookie-notice" not in owner_client.get("/").content


# --- Schedule a demo ---------------------------------------------------------------------


def demo_data(**overrides):
    data = {
        "name": "Jānis Kalniņš", "email": "janis@example.com", "company": "Kalns SIA",
        "phone": "+371 2000 0000", "preferred_times": "Tuesday afternoon",
        "time_zone": "Europe/Riga", "message": "We have 12 agents.",
        "website": "", "started": _stamp(),
    }
    data.update(overrides)
    return data


def test_demo_booking_is_stored_and_both_sides_are_mailed(
    public_client, django_capture_on_commit_callbacks
):
    provider = make_account("saruna", name="Saruna", is_provider=True)
    make_user(provider, "boss@provider.example", role="owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/demo/", demo_data(), follow=True)
    assert "Thank you" in response.content.decode()
    booking = DemoBooking.objects.get()
    assert booking.time_zone == "Europe/Riga" and not booking.handled
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["boss@provider.example", "janis@example.com"]
    notice = next(m for m in mail.outbox if m.to == ["boss@provider.example"])
    assert "Tuesday afternoon" in notice.body and "Kalns SIA" in notice.subject

    # It is a ticket in the provider's own account, owned by the requester as a contact.
    with scope(account=provider):
        ticket = Ticket.objects.get()
        assert ticket.code == booking.ticket_code and ticket.code in notice.body
        assert ticket.channel_type == ChannelType.CONTACT_FORM and ticket.status == "N"
        assert "Kalns SIA" in ticket.subject
        assert ticket.owner.emails.get().email == "janis@example.com"
        assert "Tuesday afternoon" in Message.objects.get(group__ticket=ticket).body


def test_demo_without_a_provider_account_still_acknowledges(
    public_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/demo/", demo_data())
    assert DemoBooking.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["janis@example.com"]]


def test_demo_honeypot_and_rate_limit(public_client, django_capture_on_commit_callbacks):
    response = public_client.post("/demo/", demo_data(website="x"))
    assert "We could not accept this form" in response.content.decode()
    assert DemoBooking.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            public_client.post("/demo/", demo_data())
        response = public_client.post("/demo/", demo_data())
    assert "Too many attempts" in response.content.decode()
    # The honeypot hit counts too: 4 real bookings went through before the limit.
    assert DemoBooking.objects.count() == 4


def test_demo_bad_input_is_a_form_error(public_client):
    response = public_client.post("/demo/", demo_data(time_zone="Mars/Olympus", email="x"))
    page = response.content.decode()
    assert "Select a valid choice" in page and "valid email" in page
    assert DemoBooking.objects.count() == 0


# --- Provider admin ----------------------------------------------------------------------


def test_admin_lists_and_marks_demo_bookings_handled(db):
    staff = make_user(None, "staff@provider.example")
    booking = DemoBooking.objects.create(name="A", email="a@example.com",
                                         preferred_times="any")
    client = host_client(None, staff)
    assert b"a@example.com" in client.get("/admin/web/demobooking/").content
    response = client.post("/admin/web/demobooking/", {
        "action": "mark_handled", "_selected_action": [booking.pk]}, follow=True)
    assert "1 request marked as handled" in response.content.decode()
    booking.refresh_from_db()
    assert booking.handled


def test_admin_cookie_consent_is_read_only(db):
    staff = make_user(None, "staff@provider.example")
    consent = CookieConsent.objects.create(consent_id="abc", policy_version="1")
    client = host_client(None, staff)
    assert client.get("/admin/web/cookieconsent/").status_code == 200
    assert client.get("/admin/web/cookieconsent/add/").status_code == 403
    client.post(f"/admin/web/cookieconsent/{consent.pk}/change/", {"analytics": "on"})
    consent.refresh_from_db()
    assert consent.analytics is False
