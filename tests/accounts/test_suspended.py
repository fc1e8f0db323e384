from datetime import timedelta

from django_scopes import scopes_disabled

from saruna.accounts import support
from saruna.core.models import Account
from tests.factories import make_user
from tests.tenancy import host_client


def suspend(account):
    with scopes_disabled():
        Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)


def test_a_suspended_account_shows_why_and_keeps_its_data(owner_client, account, owner):
    suspend(account)
    response = owner_client.get("/users/")
    assert response.status_code == 403
    assert b"This account is suspended" in response.content
    assert host_client(account).get("/login/").status_code == 403
    # Logging out still works, and nothing was deleted.
    assert owner_client.post("/logout/").status_code == 302
    with scopes_disabled():
        assert Account.objects.get(pk=account.pk).users.filter(pk=owner.pk).exists()


def test_other_accounts_are_not_affected(two_tenants):
    suspend(two_tenants.a)
    assert two_tenants.client_b().get("/").status_code == 200


def test_provider_staff_with_support_access_still_get_in(account, owner):
    staff = make_user(None, "staff@provider.test")
    with scopes_disabled():
        grant = support.grant_support_access(
            staff, account, reason="Customer asked us to restore it", duration=timedelta(hours=1)
        )
    suspend(account)
    client = host_client(account)
    session = client.session
    session[support.SESSION_KEY] = grant.pk
    session.save()
    assert client.get("/").status_code == 200
