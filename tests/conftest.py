"""Fixtures every test module uses: accounts, users, clients on an account's host, and the
two-tenant isolation helper."""

import os

os.environ.setdefault("SARUNA_TESTING", "1")

import pytest

from tests.factories import make_account, make_user
from tests.tenancy import TenantPair, host_client

pytest_plugins = ["tests.servers"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.SARUNA_BASE_DOMAIN = "saruna.test"
    settings.ALLOWED_HOSTS = ["saruna.test", ".saruna.test"]
    settings.SARUNA_PUBLIC_PORT = ""
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Rate limits and throttles start from zero in every test. On Redis, only this worker's
    keys go: parallel workers share the server (so never call ``cache.clear()`` in a test).
    The tracking fast path's accounts go too: a test's "acme" is not the last test's."""
    from django.core.cache import cache

    from saruna.visitors import fastpath

    fastpath._accounts.clear()

    if settings.REDIS_URL:
        client = cache._cache.get_client(write=True)
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture
def account(db):
    return make_account("acme")


@pytest.fixture
def owner(account):
    return make_user(account, "owner@acme.test", role="owner")


@pytest.fixture
def agent(account):
    return make_user(account, "agent@acme.test", role="agent")


@pytest.fixture
def owner_client(owner):
    return host_client(owner.account, owner)


@pytest.fixture
def public_client(db):
    """A browser on the provider's base domain."""
    return host_client(None)


@pytest.fixture
def two_tenants(db) -> TenantPair:
    """Accounts A and B, each with an owner and an agent, and a logged-in client per owner."""
    return TenantPair.create()
