"""API fixtures: a key per tenant and a client that sends it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_scopes import scope

from saruna.api.actions import create_api_key
from saruna.core.models import Account


class ApiClient:
    """Calls ``/api/v3`` on an account's host with an ``apikey`` header; ``json`` bodies are
    sent as JSON, answers are read with ``.json()``."""

    def __init__(self, account: Account, key: str | None) -> None:
        self.account = account
        self.key = key
        self.client = Client(HTTP_HOST=account.host)

    def call(self, method: str, path: str, *, json_body: Any = None, params: Any = None,
             headers: dict[str, str] | None = None, **extra: Any):
        url = path if path.startswith("/api/") else f"/api/v3{path}"
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        if self.key is not None and "HTTP_APIKEY" not in meta:
            meta["HTTP_APIKEY"] = self.key
        meta.update(extra)
        handler = getattr(self.client, method.lower())
        if json_body is not None:
            return handler(url, data=json.dumps(json_body), content_type="application/json",
                           QUERY_STRING=_query(params), **meta)
        if method.upper() == "GET":
            return handler(url, data=params or {}, **meta)
        return handler(url, QUERY_STRING=_query(params), **meta)

    def get(self, path: str, params: Any = None, **kw: Any):
        return self.call("GET", path, params=params, **kw)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.call("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.call("PUT", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.call("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, params: Any = None, **kw: Any):
        return self.call("DELETE", path, params=params, **kw)


def _query(params: Any) -> str:
    from urllib.parse import urlencode

    return urlencode(params or {})


def make_key(account: Account, **options: Any) -> str:
    with scope(account=account):
        return create_api_key(account, **options)[1]


@pytest.fixture
def api(account, owner) -> ApiClient:
    """Full-privilege key of the ``acme`` account, acting as its owner."""
    return ApiClient(account, make_key(account, name="Test key", user=owner))


@pytest.fixture
def api_pair(two_tenants):
    """Clients of tenants A and B, each with its own full key."""
    return (
        ApiClient(two_tenants.a, make_key(two_tenants.a, user=two_tenants.owner_a)),
        ApiClient(two_tenants.b, make_key(two_tenants.b, user=two_tenants.owner_b)),
    )
