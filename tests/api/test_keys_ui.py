"""Settings → API keys as an owner uses it: make a key (shown once), call the API with it,
see when it was last used, revoke it; agents and other accounts are kept out."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from saruna.api import privileges
from saruna.api.models import ApiKey, hash_secret
from saruna.core.models import AuditEvent
from tests.api.conftest import ApiClient, make_key
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


def created_secret(response) -> str:
    match = re.search(r'<code id="new-api-key">([a-z0-9]+)</code>', response.content.decode())
    assert match, "the new key is shown"
    return match.group(1)


def test_an_owner_makes_a_key_sees_it_once_and_uses_it(account, owner, owner_client):
    assert owner_client.get("/settings/api-keys/new/").status_code == 200
    response = owner_client.post("/settings/api-keys/new/", {
        "name": "CRM sync", "access": "full", "whitelist": "*",
    })
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = created_secret(response)
    with scope(account=account):
        key = ApiKey.objects.get()
        stored = str(list(ApiKey.objects.values()))
        assert AuditEvent.objects.filter(verb="api_key.created", actor_user=owner).exists()
    # Stored hashed, acting as its maker, with every privilege.
    assert key.key_hash == hash_secret(secret) and secret not in stored
    assert key.user == owner and set(key.privileges) == privileges.ALL

    listing = owner_client.get("/settings/api-keys/").content.decode()
    assert "CRM sync" in listing and f"****{secret[-4:]}" in listing
    assert secret not in listing and "never" in listing

    assert ApiClient(account, secret).get("/ping").status_code == 200
    listing = owner_client.get("/settings/api-keys/").content.decode()
    assert "never" not in listing  # the last-used time is shown now


def test_a_read_only_key_cannot_write(account, owner_client):
    secret = created_secret(owner_client.post("/settings/api-keys/new/", {
        "name": "Reports", "access": "read_only"}))
    api = ApiClient(account, secret)
    assert api.get("/tickets").status_code == 200
    assert api.post("/contacts", {"firstname": "Nope"}).status_code == 403
    assert "Read only" in owner_client.get("/settings/api-keys/").content.decode()


def test_chosen_privileges_are_exactly_those(account, owner_client):
    secret = created_secret(owner_client.post("/settings/api-keys/new/", {
        "name": "Contacts only", "access": "chosen", "scopes": ["contact.read"]}))
    with scope(account=account):
        assert ApiKey.objects.get().privileges == ["contact.read"]
    api = ApiClient(account, secret)
    assert api.get("/contacts").status_code == 200
    assert api.get("/tickets").status_code == 403


def test_chosen_access_needs_a_privilege(account, owner_client):
    response = owner_client.post("/settings/api-keys/new/", {"name": "x", "access": "chosen"})
    assert response.status_code == 200
    assert "Choose at least one privilege." in response.content.decode()
    with scope(account=account):
        assert not ApiKey.objects.exists()


def test_a_revoked_key_stops_at_once(account, owner, owner_client):
    secret = make_key(account, name="Old script", user=owner)
    with scope(account=account):
        key = ApiKey.objects.get()
    page = owner_client.get(f"/settings/api-keys/{key.pk}/revoke/").content.decode()
    assert "Old script" in page
    response = owner_client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    assert ApiClient(account, secret).get("/ping").status_code == 401
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="api_key.revoked", actor_user=owner).exists()
    assert "Revoked" in owner_client.get("/settings/api-keys/").content.decode()
    # Revoking again finds nothing to revoke.
    assert owner_client.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 404


def test_agents_cannot_see_or_make_keys(account, agent, owner):
    make_key(account, name="Owner's", user=owner)
    with scope(account=account):
        key = ApiKey.objects.get()
    client = host_client(account, agent)
    for path in ("/settings/api-keys/", "/settings/api-keys/new/",
                 f"/settings/api-keys/{key.pk}/revoke/"):
        assert client.get(path).status_code == 403
    assert client.post("/settings/api-keys/new/", {"access": "full"}).status_code == 403
    with scope(account=account):
        assert ApiKey.objects.count() == 1


def test_another_accounts_key_is_a_404(two_tenants):
    secret = make_key(two_tenants.a, name="Alpha key", user=two_tenants.owner_a)
    with scope(account=two_tenants.a):
        key = ApiKey.objects.get()
    two_tenants.assert_isolated(f"/settings/api-keys/{key.pk}/revoke/")
    assert two_tenants.client_b().post(
        f"/settings/api-keys/{key.pk}/revoke/").status_code == 404
    assert b"Alpha key" not in two_tenants.client_b().get("/settings/api-keys/").content
    assert ApiClient(two_tenants.a, secret).get("/ping").status_code == 200


def test_usable_keys_are_listed_before_revoked_ones(account, owner, owner_client):
    from saruna.api.actions import revoke_api_key

    make_key(account, name="Retired", user=owner)
    with scope(account=account):
        revoke_api_key(ApiKey.objects.get(name="Retired"))
    make_key(account, name="Current", user=owner)
    listing = owner_client.get("/settings/api-keys/").content.decode()
    assert listing.index("Current") < listing.index("Retired")
