import pytest
from django.apps import apps
from django.db import models
from django_scopes import ScopeError, scope

from saruna.accounts.models import User
from saruna.core.models import Account, AuditEvent
from saruna.core.registry import GLOBAL_MODELS
from tests.factories import make_account, make_user
from tests.tenancy import host_client


def saruna_models():
    return [m for m in apps.get_models() if m.__module__.startswith("saruna.")]


def test_every_tenant_owned_model_has_account_fk_and_scoped_manager():
    offenders = []
    for model in saruna_models():
        label = model._meta.label_lower
        if label in GLOBAL_MODELS:
            continue
        try:
            field = model._meta.get_field("account")
        except Exception:
            offenders.append(f"{label}: no account field")
            continue
        if not isinstance(field, models.ForeignKey) or field.related_model is not Account:
            offenders.append(f"{label}: account is not a foreign key to Account")
        if not getattr(model._default_manager, "scoped_by_account", False):
            offenders.append(f"{label}: default manager is not scoped")
    assert offenders == []


def test_global_model_list_names_only_existing_models():
    labels = {m._meta.label_lower for m in saruna_models()}
    assert set(GLOBAL_MODELS) <= labels


@pytest.mark.django_db
def test_query_without_scope_is_an_error_not_a_leak():
    with pytest.raises(ScopeError):
        list(User.objects.all())


@pytest.mark.django_db
def test_provider_scope_sees_no_tenant_rows(two_tenants):
    staff = make_user(None, "staff@provider.test")
    with scope(account=None):
        assert list(User.objects.all()) == [staff]
        assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_scope_shows_only_that_accounts_rows(two_tenants):
    with scope(account=two_tenants.a):
        emails = set(User.objects.values_list("email", flat=True))
    assert emails == {"owner@alpha.test", "agent@alpha.test"}


@pytest.mark.django_db
def test_unknown_subdomain_is_404_naming_no_account(two_tenants):
    response = host_client(make_account("gamma", status=Account.Status.CLOSED)).get("/")
    assert response.status_code == 404
    response = host_client(None).get("/", HTTP_HOST="nosuch.saruna.test")
    assert response.status_code == 404
    assert b"Alpha" not in response.content and b"Beta" not in response.content


@pytest.mark.django_db
def test_forged_host_header_is_refused(client):
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    response = client.get("/", HTTP_HOST="a.b.saruna.test")
    assert response.status_code == 404


@pytest.mark.django_db
def test_session_of_one_account_does_not_log_in_on_another(two_tenants):
    client = two_tenants.client_a()
    assert client.get("/").status_code == 200
    # The same browser cookie presented on B's host is not a login there.
    response = client.get("/", HTTP_HOST=two_tenants.b.host)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.django_db
def test_createsuperuser_makes_staff_and_refuses_a_duplicate(monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-staff-password")
    with scope(account=None):
        call_command("createsuperuser", interactive=False, email="Staff@Example.com",
                     full_name="Staff One", verbosity=0)
        with pytest.raises(CommandError, match="already exists"):
            call_command("createsuperuser", interactive=False, email="staff@example.com",
                         full_name="Staff Two", verbosity=0)
        staff = User.objects.get()
    assert (staff.email, staff.account, staff.role, staff.is_superuser) == (
        "staff@example.com", None, "staff", True)
