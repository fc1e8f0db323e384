"""Who is calling the API: the ``apikey`` header (API §2.1).

The header name is case-insensitive (``apiKey``, ``APIKEY``); a value starting with
``Bearer `` is stripped to the key. LiveAgent's Python client also sends
``Authorization: Bearer `` with an empty token on every call: ignored. Without an ``apikey``
header, a non-empty bearer token is taken as the key. The key is looked up in the request's
account only, so another account's key is as unknown as a made-up one (401).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja.security import APIKeyHeader

from saruna.api import ratelimit
from saruna.api.models import LAST_USED_PRECISION, ApiKey, hash_secret
from saruna.core.net import client_ip

HEADER = "apikey"


class ApiError(Exception):
    """An error answer ``{"message": ...}`` with ``status``; ``headers`` are added to it."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def presented_key(request: HttpRequest) -> str:
    value = request.headers.get(HEADER, "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    if not value:
        authorization = request.headers.get("Authorization", "").strip()
        if authorization.lower().startswith("bearer "):
            value = authorization[7:].strip()
    return value


class ApiKeyAuth(APIKeyHeader):
    """django-ninja's header scheme named ``apikey`` (so the OpenAPI document says so), with
    LiveAgent's leniencies, the key's address whitelist and the per-key rate limit."""

    param_name = HEADER

    def _get_key(self, request: HttpRequest) -> str | None:
        return presented_key(request) or None

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            raise ApiError(401, gettext("An API key is required in the apikey header."))
        found = (
            ApiKey.objects.select_related("user", "account")
            .filter(key_hash=hash_secret(key))
            .first()
        )
        account = getattr(request, "account", None)
        if found is None or account is None or found.account_id != account.pk:
            raise ApiError(401, gettext("Unknown API key."))
        now = timezone.now()
        if not found.usable(now):
            raise ApiError(401, gettext("This API key is revoked or expired."))
        if not _allowed_address(found.whitelist, client_ip(request)):
            raise ApiError(403, gettext("This API key may not be used from your address."))
        usage = ratelimit.hit(found)
        request.api_rate = usage  # type: ignore[attr-defined]
        if usage.exceeded:
            raise ApiError(
                429,
                gettext("Too many requests, limit is %(n)d per minute") % {"n": usage.limit},
                {"Retry-After": str(usage.retry_after)},
            )
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=found.pk).update(last_used_at=now)
        request.api_key = found  # type: ignore[attr-defined]
        return found


def _allowed_address(whitelist: str, ip: str | None) -> bool:
    entries = [e.strip() for e in whitelist.split(",") if e.strip()]
    if not entries or "*" in entries:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in entries:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def require(request: HttpRequest, *scopes: str) -> ApiKey:
    """The request's key, if it holds one of ``scopes``; else a 403 naming them."""
    key: Any = getattr(request, "api_key", None)
    if key is None:
        raise ApiError(401, gettext("An API key is required in the apikey header."))
    if scopes and not any(key.has(s) for s in scopes):
        raise ApiError(
            403,
            gettext("This API key lacks the privilege %(p)s.") % {"p": " or ".join(scopes)},
        )
    return key
