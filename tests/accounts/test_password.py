import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_scopes import scope

from saruna.accounts.models import User, UserSession
from saruna.core.models import AuditEvent
from tests.factories import PASSWORD
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def request_reset(account, email, capture):
    with capture(execute=True):
        response = host_client(account).post("/password/reset/", {"email": email})
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/sent/"
    return response


def reset_link(message) -> str:
    match = re.search(r"http://acme\.saruna\.test(/password/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def reload(user: User) -> User:
    with scope(account=user.account):
        return User.objects.get(pk=user.pk)


def test_reset_mails_a_link_that_sets_a_new_password(
    account, owner, django_capture_on_commit_callbacks
):
    request_reset(account, "OWNER@acme.test", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    path = reset_link(mail.outbox[0])

    client = host_client(account)
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == "/login/"
    assert reload(owner).check_password(NEW_PASSWORD)
    login = client.post("/login/", {"email": owner.email, "password": NEW_PASSWORD})
    assert login.status_code == 302
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="auth.password_reset", target_id=owner.pk).exists()
    # The link works only once.
    assert host_client(account).get(path).status_code == 400


def test_unknown_email_gets_the_same_answer_and_no_mail(
    account, owner, django_capture_on_commit_callbacks
):
    request_reset(account, "nobody@acme.test", django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_weak_password_is_refused_with_the_validators_message(
    account, owner, django_capture_on_commit_callbacks
):
    request_reset(account, owner.email, django_capture_on_commit_callbacks)
    path = reset_link(mail.outbox[0])
    response = host_client(account).post(path, {"new_password1": "12345", "new_password2": "12345"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "This password is too short" in content
    assert "This password is entirely numeric" in content
    assert reload(owner).check_password(PASSWORD)


def test_reset_ends_every_other_session(account, owner, django_capture_on_commit_callbacks):
    other_browser = host_client(account)
    other_browser.post("/login/", {"email": owner.email, "password": PASSWORD})
    assert other_browser.get("/").status_code == 200

    request_reset(account, owner.email, django_capture_on_commit_callbacks)
    path = reset_link(mail.outbox[0])
    host_client(account).post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert other_browser.get("/").status_code == 302
    with scope(account=account):
        session = UserSession.objects.get(user=owner)
    assert session.end_reason == UserSession.EndReason.REVOKED


def test_reset_link_expires(account, owner, django_capture_on_commit_callbacks):
    request_reset(account, owner.email, django_capture_on_commit_callbacks)
    path = reset_link(mail.outbox[0])
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with time_machine.travel(later):
        response = host_client(account).get(path)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_tampered_reset_link_is_refused(account, owner, django_capture_on_commit_callbacks):
    request_reset(account, owner.email, django_capture_on_commit_callbacks)
    path = reset_link(mail.outbox[0])
    response = host_client(account).post(
        path[:-3] + "xx/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert reload(owner).check_password(PASSWORD)


def test_reset_link_of_one_account_does_nothing_on_another(
    two_tenants, django_capture_on_commit_callbacks
):
    owner = two_tenants.owner_a
    with django_capture_on_commit_callbacks(execute=True):
        host_client(two_tenants.a).post("/password/reset/", {"email": owner.email})
    path = re.search(r"(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    response = host_client(two_tenants.b).get(path)
    assert response.status_code == 400


def test_reset_requests_are_rate_limited(account, owner, django_capture_on_commit_callbacks):
    for _ in range(7):
        request_reset(account, owner.email, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 5


# --- Changing the password from the profile ----------------------------------------------


def test_change_password_needs_the_old_one(account, owner, owner_client):
    response = owner_client.post("/profile/password/", {
        "old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert reload(owner).check_password(PASSWORD)


def test_change_password_keeps_this_session_and_ends_the_others(account, owner):
    here, elsewhere = host_client(account), host_client(account)
    for client in (here, elsewhere):
        client.post("/login/", {"email": owner.email, "password": PASSWORD})
    response = here.post("/profile/password/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert response["Location"] == "/profile/"
    assert reload(owner).check_password(NEW_PASSWORD)
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    with scope(account=account):
        assert UserSession.objects.filter(user=owner, ended_at__isnull=True).count() == 1
        assert AuditEvent.objects.filter(verb="auth.password_changed").exists()


# --- Profile -----------------------------------------------------------------------------


def test_profile_saves_name_language_and_time_zone(account, owner, owner_client):
    response = owner_client.post("/profile/", {
        "full_name": "Anna Bērziņa", "language": "lv", "time_zone": "Europe/Riga",
    }, follow=True)
    owner = reload(owner)
    assert (owner.full_name, owner.language, owner.time_zone) == (
        "Anna Bērziņa", "lv", "Europe/Riga"
    )
    # The new language applies at once.
    assert response.headers["Content-Language"] == "lv"
    assert '<html lang="lv">' in response.content.decode()


def test_profile_refuses_unknown_time_zone(account, owner, owner_client):
    response = owner_client.post("/profile/", {
        "full_name": "Owner", "language": "en", "time_zone": "Mars/Olympus",
    })
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert reload(owner).time_zone == ""
