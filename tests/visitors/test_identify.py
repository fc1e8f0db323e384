"""``saruna('identify', …)`` reaching the tracking: the host site's signed identity joins the
visitor, and their page visits before and after, to the customer's contact."""

import json

import pytest
from django_scopes import scope, scopes_disabled

from saruna.visitors.actions import save_tracking_settings
from saruna.visitors.identity import identity_signature, widget_secret
from saruna.visitors.models import Visitor
from saruna.visitors.queries import page_visits_for_contact
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True


def _identity(account, user_id, email, name, *, signature=None):
    with scope(account=account):
        secret = widget_secret(account).identity_secret
    return {"user_id": user_id, "email": email, "name": name,
            "signature": signature or identity_signature(secret, user_id, email, name)}


def identify(client, token, identity, **fields):
    body = json.dumps({"token": token, "identity": identity, **fields})
    return client.post("/widget/identify/", body, content_type="text/plain")


def _contact_of(token):
    with scopes_disabled():
        return Visitor.objects.select_related("contact").get(
            public_id=token.split(".")[0]).contact


def test_the_visits_before_and_after_join_the_contact(account):
    token, client = new_token(account), tracker(account)
    beat(client, token, url="https://shop.test/")
    response = identify(client, token, _identity(account, "c-42", "vera@example.com",
                                                 "Vera Liepa"))
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    beat(client, token, url="https://shop.test/pricing")
    contact = _contact_of(token)
    with scope(account=account):
        assert list(contact.emails.values_list("email", flat=True)) == ["vera@example.com"]
        assert sorted(page_visits_for_contact(contact).values_list("url", flat=True)) == [
            "https://shop.test/", "https://shop.test/pricing"]


def test_without_an_e_mail_the_user_id_joins_the_customer_s_browsers(account):
    phone, laptop = new_token(account), new_token(account)
    for token in (phone, laptop):
        beat(tracker(account), token)
        assert identify(tracker(account), token,
                        _identity(account, "c-7", "", "Ilze Kalna")).status_code == 204
    assert _contact_of(phone) == _contact_of(laptop) is not None


def test_a_wrong_signature_changes_nothing(account):
    token, client = new_token(account), tracker(account)
    beat(client, token)
    response = identify(client, token, _identity(account, "c-42", "vera@example.com",
                                                 "Vera Liepa", signature="0" * 64))
    assert response.status_code == 400 and response.json()["message"]
    assert _contact_of(token) is None


def test_without_consent_nothing_is_stored(account):
    with scope(account=account):
        save_tracking_settings(account, {"consent_required": True})
    token = new_token(account)
    identity = _identity(account, "c-42", "vera@example.com", "Vera Liepa")
    assert identify(tracker(account), token, identity).status_code == 204
    with scopes_disabled():
        assert not Visitor.objects.exists()
    assert identify(tracker(account), token, identity,
                    consent={"tracking": True}).status_code == 204
    assert _contact_of(token) is not None
