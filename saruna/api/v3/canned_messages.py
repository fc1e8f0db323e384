"""Canned messages (API §14): chat snippets, each the account's (``userid`` null) or one
agent's, for all departments (``departmentid`` null) or one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.accounts.models import User
from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    OK,
    Column,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    get_or_404,
    page,
    responses,
)
from saruna.contacts.common import delete_record
from saruna.tickets import actions
from saruna.tickets.models import CannedMessage, Department

router = Router(tags=["canned messages"])


class CannedMessageOut(Schema):
    id: str
    userid: str | None = None
    departmentid: str | None = None
    messagetext: str = Field(..., min_length=1)
    keywords: str | None = None


class CannedMessageIn(Schema):
    """Sparse: only the keys sent are written; ``id`` is ignored."""

    userid: str | None = Field(None, description="owning agent; null = the whole account")
    departmentid: str | None = Field(None, description="null = all departments")
    messagetext: str | None = None
    keywords: str | None = None


def owner_fields(sent: dict[str, Any]) -> dict[str, Any]:
    """``userid``/``departmentid`` of a request body as the action's ``user``/``department``
    (also for predefined answers); ``me`` is the key's user; unknown ids are a 400."""
    fields: dict[str, Any] = {}
    if "userid" in sent:
        fields["user"] = None
        if sent["userid"]:
            fields["user"] = User.objects.filter(pk=sent["userid"], is_active=True).first()
            if fields["user"] is None:
                raise ApiError(400, gettext("Unknown agent: %(id)s") % {"id": sent["userid"]})
    if "departmentid" in sent:
        fields["department"] = None
        if sent["departmentid"]:
            fields["department"] = Department.objects.filter(
                public_id=sent["departmentid"]).first()
            if fields["department"] is None:
                raise ApiError(400, gettext("Unknown department: %(id)s")
                               % {"id": sent["departmentid"]})
    return fields


def canned_out(request: HttpRequest, canned: CannedMessage) -> dict[str, Any]:
    return {
        "id": canned.public_id,
        "userid": canned.user_id,
        "departmentid": canned.department.public_id if canned.department else None,
        "messagetext": canned.messagetext,
        "keywords": canned.keywords or None,
    }


OWNER_OPERATORS = frozenset({"E", "IN", "IE"})
CANNED = ListSpec(
    columns={
        "userid": Column("user_id", "exact", OWNER_OPERATORS),
        "departmentid": Column("department__public_id", "exact", OWNER_OPERATORS),
        "keywords": Column("keywords", operators=frozenset({"L", "LIKE"})),
        "messagetext": Column("messagetext", operators=frozenset({"L", "LIKE"})),
    },
    sorts={"id": "pk", "keywords": "keywords", "messagetext": "messagetext"},
    default_sort="id",
    serialize=canned_out,
)


def _canned(canned_id: str) -> CannedMessage:
    return get_or_404(CannedMessage.objects.select_related("department"),
                      gettext("Unknown canned message."), public_id=canned_id)


def _fields(payload: CannedMessageIn) -> dict[str, Any]:
    sent = payload.model_dump(exclude_unset=True)
    fields = owner_fields(sent)
    if "messagetext" in sent:
        fields["messagetext"] = sent["messagetext"] or ""
    if "keywords" in sent:
        fields["keywords"] = (sent["keywords"] or "").strip()
    return fields


@router.get("/canned_messages", response=responses(list[CannedMessageOut]),
            summary="List canned messages")
def list_canned(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "canned_message.read", "canned_message.manage")
    return page(request, CannedMessage.objects.select_related("department"), CANNED, params)


@router.post("/canned_messages", response=responses(CannedMessageOut),
             summary="Create a canned message")
def create_canned(request: HttpRequest, payload: CannedMessageIn) -> dict[str, Any]:
    require(request, "canned_message.manage")
    fields = _fields(payload)
    if not str(fields.get("messagetext") or "").strip():
        raise ApiError(400, gettext("messagetext: the message cannot be empty."))
    canned = actions.save_canned_message(request.account, None, **fields)  # type: ignore[attr-defined]
    audited(request, "canned_message.created", target=canned)
    return canned_out(request, canned)


@router.get("/canned_messages/{cannedMessageId}", response=responses(CannedMessageOut),
            summary="Get a canned message")
def get_canned(request: HttpRequest, cannedMessageId: str) -> dict[str, Any]:
    require(request, "canned_message.read", "canned_message.manage")
    return canned_out(request, _canned(cannedMessageId))


@router.put("/canned_messages/{cannedMessageId}", response=responses(CannedMessageOut),
            summary="Change a canned message")
def update_canned(
    request: HttpRequest, cannedMessageId: str, payload: CannedMessageIn
) -> dict[str, Any]:
    require(request, "canned_message.manage")
    canned = actions.save_canned_message(
        request.account, _canned(cannedMessageId), **_fields(payload)  # type: ignore[attr-defined]
    )
    audited(request, "canned_message.changed", target=canned)
    return canned_out(request, canned)


@router.delete("/canned_messages/{cannedMessageId}", response=responses(OkOut),
               summary="Delete a canned message")
def delete_canned(request: HttpRequest, cannedMessageId: str) -> dict[str, Any]:
    key = require(request, "canned_message.manage")
    canned = _canned(cannedMessageId)
    audited(request, "canned_message.deleted", target=canned)
    delete_record(canned, actor=key.user)
    return OK
