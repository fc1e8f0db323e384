import re

import pyotp
import pytest
from django_scopes import scope

from saruna.accounts.models import User
from saruna.core.models import AuditEvent
from tests.factories import PASSWORD
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


def reload(user: User) -> User:
    with scope(account=user.account):
        return User.objects.get(pk=user.pk)


def start_enrolment(client) -> str:
    """Start enrolling and return the secret the page shows (as the person would type it)."""
    response = client.post("/security/totp/start/")
    assert response["Location"] == "/security/totp/"
    page = client.get("/security/totp/").content.decode()
    assert "<svg" in page  # the QR code, inline
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", page).group(1).replace(" ", "")
    return secret


def test_enrol_shows_qr_and_secret_and_turns_on_after_a_valid_code(account, owner, owner_client):
    assert "Off." in owner_client.get("/security/").content.decode()
    secret = start_enrolment(owner_client)
    assert not reload(owner).totp_enabled  # not before a code confirms it

    response = owner_client.post("/security/totp/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/security/"
    owner = reload(owner)
    assert owner.totp_enabled and owner.totp_secret == secret
    assert "On." in owner_client.get("/security/").content.decode()
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="auth.totp_enabled", actor_user=owner).exists()

    # From now on logging in asks for the code.
    client = host_client(account)
    response = client.post("/login/", {"email": owner.email, "password": PASSWORD})
    assert response["Location"] == "/login/code/"


def test_enrol_refuses_a_wrong_code(account, owner, owner_client):
    start_enrolment(owner_client)
    response = owner_client.post("/security/totp/", {"code": "123456"})
    assert response.status_code == 200
    assert "That code is not correct" in response.content.decode()
    assert not reload(owner).totp_enabled


def test_reloading_the_enrolment_keeps_the_secret(account, owner, owner_client):
    first = start_enrolment(owner_client)
    assert start_enrolment(owner_client) == first


def test_disable_needs_the_password(account, owner, owner_client):
    secret = start_enrolment(owner_client)
    owner_client.post("/security/totp/", {"code": pyotp.TOTP(secret).now()})

    response = owner_client.post("/security/totp/disable/", {"password": "wrong"})
    assert response.status_code == 200
    assert "Your password is not correct." in response.content.decode()
    assert reload(owner).totp_enabled

    response = owner_client.post("/security/totp/disable/", {"password": PASSWORD})
    assert response["Location"] == "/security/"
    owner = reload(owner)
    assert not owner.totp_enabled and owner.totp_secret == ""
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="auth.totp_disabled").exists()
    response = host_client(account).post("/login/", {"email": owner.email, "password": PASSWORD})
    assert response["Location"] == "/"


def test_security_pages_need_a_login(account):
    client = host_client(account)
    for path in ("/security/", "/security/totp/", "/profile/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
