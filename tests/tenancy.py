"""Two-tenant helpers: every later feature proves it cannot leak across accounts with them.

    def test_ticket_detail_is_isolated(two_tenants):
        ticket = ...made in two_tenants.a...
        two_tenants.assert_isolated(f"/tickets/{ticket.pk}/")
"""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from saruna.accounts.models import User
from saruna.core.models import Account
from tests.factories import make_account, make_user


def host_client(account: Account | None, user: User | None = None, **extra) -> Client:
    """A test client whose requests carry the account's Host header (the base domain for
    ``None``), logged in as ``user`` when given."""
    from django.conf import settings

    host = account.host if account is not None else settings.SARUNA_BASE_DOMAIN
    client = Client(HTTP_HOST=host, **extra)
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class TenantPair:
    a: Account
    b: Account
    owner_a: User
    owner_b: User
    agent_a: User
    agent_b: User

    @classmethod
    def create(cls) -> TenantPair:
        a, b = make_account("alpha"), make_account("beta")
        return cls(
            a=a, b=b,
            owner_a=make_user(a, "owner@alpha.test", role="owner"),
            owner_b=make_user(b, "owner@beta.test", role="owner"),
            agent_a=make_user(a, "agent@alpha.test"),
            agent_b=make_user(b, "agent@beta.test"),
        )

    def client_a(self) -> Client:
        return host_client(self.a, self.owner_a)

    def client_b(self) -> Client:
        return host_client(self.b, self.owner_b)

    def assert_isolated(self, path: str, *, method: str = "get", data: dict | None = None) -> None:
        """``path`` names one of tenant A's objects: A's owner reaches it; B's owner, on B's
        host, gets a 404 (exactly like a missing object) and never A's data."""
        own = getattr(self.client_a(), method)(path, data or {})
        assert own.status_code < 400, f"{path}: tenant A itself got {own.status_code}"
        other = getattr(self.client_b(), method)(path, data or {})
        assert other.status_code == 404, f"{path}: tenant B got {other.status_code}, not 404"
        assert self.a.name.encode() not in other.content
