"""API keys (API §21). The secret is answered once, by the create call; afterwards ``key`` is
masked. ``apikeyId`` is numeric (``5`` and ``5.0`` name the same key). Revoked keys are gone
from this resource. The ``_own`` privileges reach only keys acting as the caller's user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.api import actions, privileges
from saruna.api.auth import ApiError, require
from saruna.api.models import ApiKey
from saruna.api.v3.common import (
    OK,
    Column,
    CursorQuery,
    DateField,
    ListSpec,
    OkOut,
    audited,
    clock,
    cursor_page,
    responses,
)

router = Router(tags=["api keys"])


class ApiPrivilegeSchema(Schema):
    object: str
    privileges: list[str]


class ApiKeyOut(Schema):
    id: int
    key: str
    valid_to_date: str | None = DateField("null = never expires")
    role: str | None = None
    name: str
    type: str = Field(..., pattern="^[ACPTW]$")
    installid: str | None = None
    userid: str | None = None
    whitelist: str


class ApiKeyWithPrivilegesOut(ApiKeyOut):
    privileges: list[ApiPrivilegeSchema]


class ApiKeyIn(Schema):
    """Sparse. ``id``, ``key``, ``type``, ``userid``, ``installid``, ``role`` are ignored."""

    name: str | None = None
    valid_to_date: str | None = Field(None, description="YYYY-MM-DD HH:MM:SS; null: never")
    whitelist: str | None = Field(None, description="comma-separated IPs/CIDR ranges; * = any")
    privileges: list[ApiPrivilegeSchema] | None = None


def key_out(request: HttpRequest, key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": key.pk,
        "key": secret or key.masked,
        "valid_to_date": clock(request).format(key.valid_to),
        "role": key.user.role if key.user is not None else None,
        "name": key.name,
        "type": key.type,
        "installid": None,
        "userid": key.user_id,
        "whitelist": key.whitelist,
    }


def key_with_privileges(
    request: HttpRequest, key: ApiKey, secret: str | None = None
) -> dict[str, Any]:
    return {**key_out(request, key, secret), "privileges": privileges.as_wire(key.privileges)}


KEYS = ListSpec(
    columns={
        "id": Column("pk", "number", frozenset({"E", "IN", "NI", ">", "<", ">=", "<="})),
        "name": Column("name"),
        "type": Column("type", "exact", frozenset({"E", "IN", "NI"})),
        "userid": Column("user_id", "exact", frozenset({"E", "IN", "NI", "IE", "INE"})),
    },
    sorts={"id": "pk", "name": "name"},
    default_sort="id",
    serialize=key_out,
)


def _reachable(request: HttpRequest, full: str, own: str) -> QuerySet[ApiKey]:
    """The keys the caller may act on with ``full`` (all of the account's) or ``own``."""
    caller = require(request, full, own)
    keys = ApiKey.objects.filter(revoked_at__isnull=True).select_related("user")
    if not caller.has(full):
        keys = keys.filter(user_id=caller.user_id)
    return keys  # type: ignore[no-any-return]


def _key(keys: QuerySet[ApiKey], key_id: str) -> ApiKey:
    try:
        number = float(key_id)
    except ValueError:
        number = -1.0
    # Beyond the id column's range is as unknown as any other number (no database error).
    usable = number.is_integer() and 0 < number < 2**63
    found = keys.filter(pk=int(number)).first() if usable else None
    if found is None:
        raise ApiError(404, gettext("Unknown API key."))
    return found


def _scopes(request: HttpRequest, items: list[ApiPrivilegeSchema]) -> set[str]:
    scopes = privileges.from_wire([item.model_dump() for item in items])
    unknown = privileges.unknown(sorted(scopes))
    if unknown:
        raise ApiError(400, gettext("Unknown privilege: %(p)s") % {"p": ", ".join(unknown)})
    caller: ApiKey = request.api_key  # type: ignore[attr-defined]
    beyond = sorted(scopes - set(caller.privileges))
    if beyond:
        raise ApiError(403, gettext("A key cannot grant privileges it does not hold: %(p)s")
                       % {"p": ", ".join(beyond)})
    return scopes


@router.get("/apikeys", response=responses(list[ApiKeyOut]),
            summary="List API keys (cursor paging: next_page_cursor header)")
def list_keys(
    request: HttpRequest, response: HttpResponse, params: Query[CursorQuery]
) -> list[dict[str, Any]]:
    keys = _reachable(request, "api.read", "api.read_own")
    return cursor_page(request, response, keys, KEYS, params)


@router.post("/apikeys", response=responses(ApiKeyWithPrivilegesOut),
             summary="Create an API key; the answer holds the secret, once")
def create_key(request: HttpRequest, payload: ApiKeyIn) -> dict[str, Any]:
    caller = require(request, "api.write", "api.write_own")
    sent = payload.model_dump(exclude_unset=True)
    scopes = _scopes(request, payload.privileges or [])
    valid_to = clock(request).parse(sent["valid_to_date"], "valid_to_date") if sent.get(
        "valid_to_date") else None
    key, secret = actions.create_api_key(
        request.account, name=sent.get("name") or "", scopes=scopes,  # type: ignore[attr-defined]
        user=caller.user, created_by=caller.user, whitelist=sent.get("whitelist") or "*",
        valid_to=valid_to,
    )
    audited(request, "api_key.created", target=key)
    return key_with_privileges(request, key, secret)


@router.get("/apikeys/{apikeyId}", response=responses(ApiKeyWithPrivilegesOut),
            summary="Get an API key (masked)")
def get_key(request: HttpRequest, apikeyId: str) -> dict[str, Any]:
    return key_with_privileges(
        request, _key(_reachable(request, "api.read", "api.read_own"), apikeyId))


@router.put("/apikeys/{apikeyId}", response=responses(ApiKeyWithPrivilegesOut),
            summary="Change an API key's name, expiry, whitelist or privileges")
def update_key(request: HttpRequest, apikeyId: str, payload: ApiKeyIn) -> dict[str, Any]:
    key = _key(_reachable(request, "api.write", "api.write_own"), apikeyId)
    sent = payload.model_dump(exclude_unset=True)
    caller: ApiKey = request.api_key  # type: ignore[attr-defined]
    changes: dict[str, Any] = {}
    if "privileges" in sent and payload.privileges is not None:
        changes["scopes"] = _scopes(request, payload.privileges)
    if "name" in sent and sent["name"] is not None:
        changes["name"] = sent["name"]
    if "whitelist" in sent and sent["whitelist"] is not None:
        changes["whitelist"] = sent["whitelist"]
    if "valid_to_date" in sent:
        if sent["valid_to_date"]:
            changes["valid_to"] = clock(request).parse(sent["valid_to_date"], "valid_to_date")
        else:
            changes["clear_valid_to"] = True
    key = actions.update_api_key(key, actor=caller.user, **changes)
    audited(request, "api_key.changed", target=key)
    return key_with_privileges(request, key)


@router.delete("/apikeys/{apikeyId}", response=responses(OkOut),
               summary="Revoke an API key at once (also the one making the call)")
def delete_key(request: HttpRequest, apikeyId: str) -> dict[str, Any]:
    key = _key(_reachable(request, "api.delete", "api.delete"), apikeyId)
    caller: ApiKey = request.api_key  # type: ignore[attr-defined]
    actions.revoke_api_key(key, actor=caller.user)
    audited(request, "api_key.revoked", target=key)
    return OK
