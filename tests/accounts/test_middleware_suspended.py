"""A suspended account's API answers programs in the API's error format (API §3.7: 403 with
``{"message": ...}``), not with the HTML page people see."""

from __future__ import annotations

import pytest
from django_scopes import scope, scopes_disabled

from saruna.contacts.models import Contact
from saruna.core.models import Account
from tests.api.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


def suspend(account: Account) -> None:
    with scopes_disabled():
        Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)


def test_the_api_of_a_suspended_account_answers_json_403s(account, owner):
    api = ApiClient(account, make_key(account, user=owner))
    suspend(account)
    for response in (api.get("/ping"), api.get("/tickets", {"_perPage": 5}),
                     api.post("/contacts", {"firstname": "Nobody"}),
                     api.get("/no/such/path")):
        assert response.status_code == 403
        assert response["Content-Type"].startswith("application/json")
        assert "suspended" in response.json()["message"]
    with scope(account=account):
        assert not Contact.objects.exists()


def test_other_accounts_api_still_answers(two_tenants):
    suspend(two_tenants.a)
    b = ApiClient(two_tenants.b, make_key(two_tenants.b, user=two_tenants.owner_b))
    assert b.get("/ping").status_code == 200
