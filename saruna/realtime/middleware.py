import weakref
from typing import Any

from channels.db import database_sync_to_async
from django_scopes import scope as tenant_scope

from saruna.core.models import Account
from saruna.core.tenancy import account_for_slug, account_slug_for_host


class Accounts:
    """The account of a socket's Host header, like the HTTP middleware's.

    A socket keeps its account for as long as it is open, and an account has a socket per
    open widget: sockets that read the same row share one object (1.5 KiB each)."""

    def __init__(self) -> None:
        self.shared: weakref.WeakValueDictionary[str, Account] = weakref.WeakValueDictionary()

    async def resolve(self, scope: dict) -> Account | None:
        """The open account of the Host, or None."""
        host = b""
        for name, value in scope.get("headers") or ():
            if name == b"host":
                host = value
        slug = account_slug_for_host(host.decode("latin-1"))
        account = await database_sync_to_async(account_for_slug)(slug) if slug else None
        if account is None or account.status == account.Status.CLOSED:
            return None
        return self._share(account)

    def _share(self, account: Account) -> Account:
        """The object another socket holds when it has read the same values."""
        known = self.shared.get(account.slug)
        if known is not None and _values(known) == _values(account):
            return known
        self.shared[account.slug] = account
        return account


accounts = Accounts()


class TenantWebSocketMiddleware:
    """Resolves the account from the Host header and runs the whole connection inside that
    account's scope. Unknown hosts are closed at once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        account = await accounts.resolve(scope)
        if account is None:
            await send({"type": "websocket.close", "code": 4404})
            return None
        with tenant_scope(account=account):
            return await self.inner(dict(scope, account=account), receive, send)


def _values(account: Account) -> dict[str, Any]:
    return {k: v for k, v in vars(account).items() if k != "_state"}
