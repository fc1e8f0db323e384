from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from saruna.accounts.models import UserSession
from saruna.core.models import AuditEvent
from tests.factories import PASSWORD, make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


def log_in(client, email, password=PASSWORD, **params):
    return client.post("/login/", {"email": email, "password": password, **params})


def audit_verbs(account):
    with scope(account=account):
        return list(AuditEvent.objects.order_by("at", "id").values_list("verb", flat=True))


def test_login_with_email_and_password_opens_home_and_records_session(account, owner):
    client = host_client(account)
    response = log_in(client, "Owner@Acme.test")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    with scope(account=account):
        assert UserSession.objects.filter(user=owner, ended_at__isnull=True).count() == 1
    assert "auth.login" in audit_verbs(account)


def test_wrong_password_is_refused_with_a_message_and_audited(account, owner):
    client = host_client(account)
    response = log_in(client, owner.email, "wrong password")
    assert response.status_code == 200
    assert "The e-mail or password is not correct." in response.content.decode()
    assert client.get("/").status_code == 302  # still not logged in
    with scope(account=account):
        event = AuditEvent.objects.get(verb="auth.login_failed")
    assert event.details == {"email": owner.email, "reason": "password"}
    assert event.target_id == owner.pk


def test_unknown_email_gets_the_same_message(account):
    response = log_in(host_client(account), "nobody@acme.test")
    assert "The e-mail or password is not correct." in response.content.decode()


def test_user_of_another_account_cannot_log_in_here(two_tenants):
    response = log_in(host_client(two_tenants.b), two_tenants.owner_a.email)
    assert "The e-mail or password is not correct." in response.content.decode()


def test_deactivated_user_cannot_log_in(account, owner):
    user = make_user(account, "gone@acme.test", is_active=False)
    response = log_in(host_client(account), user.email)
    assert "The e-mail or password is not correct." in response.content.decode()


@time_machine.travel("2026-03-04 10:05:00Z", tick=False)  # inside one 15-minute window
def test_failed_logins_are_rate_limited_per_email_and_ip(account, owner):
    client = host_client(account)
    for _ in range(10):
        log_in(client, owner.email, "wrong password")
    # Even the right password is refused now, with a clear message.
    response = log_in(client, owner.email)
    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode()
    assert client.get("/").status_code == 302
    assert audit_verbs(account).count("auth.login_throttled") == 1
    # Another address (another person) is not blocked.
    other = host_client(account, REMOTE_ADDR="198.51.100.7")
    assert log_in(other, owner.email).status_code == 302
    # After the window the owner gets in from the first address too.
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert log_in(client, owner.email).status_code == 302


def test_next_is_followed_for_paths_on_this_host_only(account, owner):
    response = log_in(host_client(account), owner.email, next="/profile/")
    assert response["Location"] == "/profile/"
    for evil in ("https://evil.example/", "//evil.example/", "http://acme.saruna.test.evil/"):
        response = log_in(host_client(account), owner.email, next=evil)
        assert response["Location"] == "/", evil


def test_next_from_query_string_survives_the_login_form(account, owner):
    client = host_client(account)
    response = client.get("/profile/")
    assert response.status_code == 302
    login_page = client.get(response["Location"])
    assert 'value="/profile/"' in login_page.content.decode()


def test_logout_is_post_only_and_ends_the_session(account, owner):
    client = host_client(account)
    log_in(client, owner.email)
    assert client.get("/logout/").status_code == 405
    assert client.get("/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    with scope(account=account):
        session = UserSession.objects.get(user=owner)
    assert session.end_reason == UserSession.EndReason.LOGOUT
    assert "auth.logout" in audit_verbs(account)


# --- Two-factor login ------------------------------------------------------------------


@pytest.fixture
def totp_owner(owner):
    secret = pyotp.random_base32()
    owner.totp_secret, owner.totp_enabled = secret, True
    owner.save()
    return owner


def test_totp_user_needs_the_code_after_the_password(account, totp_owner):
    client = host_client(account)
    response = log_in(client, totp_owner.email, next="/profile/")
    assert response["Location"] == "/login/code/"
    assert client.get("/").status_code == 302  # half logged in is not logged in
    code = pyotp.TOTP(totp_owner.totp_secret).now()
    response = client.post("/login/code/", {"code": code})
    assert response["Location"] == "/profile/"
    assert client.get("/").status_code == 200
    with scope(account=account):
        event = AuditEvent.objects.get(verb="auth.login")
    assert event.details == {"two_factor": True}


def test_wrong_totp_code_is_refused_and_counts_as_failure(account, totp_owner):
    client = host_client(account)
    log_in(client, totp_owner.email)
    response = client.post("/login/code/", {"code": "000000"})
    assert "That code is not correct" in response.content.decode()
    assert client.get("/").status_code == 302
    with scope(account=account):
        assert AuditEvent.objects.get(verb="auth.login_failed").details["reason"] == "totp"


def test_totp_code_from_neighbouring_step_is_accepted(account, totp_owner):
    client = host_client(account)
    log_in(client, totp_owner.email)
    previous = pyotp.TOTP(totp_owner.totp_secret).at(timezone.now() - timedelta(seconds=30))
    assert client.post("/login/code/", {"code": previous}).status_code == 302
    assert client.get("/").status_code == 200


def test_totp_code_two_steps_old_is_refused(account, totp_owner):
    client = host_client(account)
    log_in(client, totp_owner.email)
    stale = pyotp.TOTP(totp_owner.totp_secret).at(timezone.now() - timedelta(seconds=70))
    response = client.post("/login/code/", {"code": stale})
    assert "That code is not correct" in response.content.decode()


def test_used_totp_code_cannot_be_replayed(account, totp_owner):
    code = pyotp.TOTP(totp_owner.totp_secret).now()
    first = host_client(account)
    log_in(first, totp_owner.email)
    assert first.post("/login/code/", {"code": code}).status_code == 302
    second = host_client(account)
    log_in(second, totp_owner.email)
    response = second.post("/login/code/", {"code": code})
    assert "already used" in response.content.decode()
    assert second.get("/").status_code == 302


def test_half_login_expires_after_five_minutes(account, totp_owner):
    client = host_client(account)
    log_in(client, totp_owner.email)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        code = pyotp.TOTP(totp_owner.totp_secret).now()
        response = client.post("/login/code/", {"code": code}, follow=True)
        assert "The login took too long" in response.content.decode()
        assert client.get("/").status_code == 302


def test_code_page_without_password_step_goes_to_login(account):
    response = host_client(account).get("/login/code/")
    assert response["Location"] == "/login/"
