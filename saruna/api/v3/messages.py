"""Single messages (API §7): read one (any message, optionally a slice of a long body) or
delete it. Only messages of tickets the key may read are found."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import OK, OkOut, audited, responses
from saruna.api.v3.tickets import MessageOut, message_out, visible_tickets
from saruna.tickets import actions
from saruna.tickets.models import Message

router = Router(tags=["messages"])


class SliceQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    start: int | None = Field(None, alias="subString_Start",
                              description="0-based character offset into the message")
    length: int | None = Field(None, alias="subString_Length",
                               description="characters to return (default: to the end)")


def find_message(request: HttpRequest, message_id: int) -> Message:
    message = (
        Message.objects.filter(pk=message_id, group__ticket__in=visible_tickets(request))
        .select_related("author_user", "author_contact", "group__ticket")
        .first()
    )
    if message is None:
        raise ApiError(404, gettext("Unknown message: %(id)s") % {"id": message_id})
    return message


@router.get("/messages/{messageId}", response=responses(MessageOut), summary="Get a message")
def get_message(
    request: HttpRequest, messageId: int, params: Query[SliceQuery]
) -> dict[str, Any]:
    out = message_out(request, find_message(request, messageId))
    start, length = params.start or 0, params.length
    if start < 0 or (length is not None and length < 0):
        raise ApiError(400, gettext("subString_Start and subString_Length cannot be negative."))
    if out["message"] is not None and (start or length is not None):
        end = None if length is None else start + length
        out["message"] = out["message"][start:end]
    return out


@router.delete("/messages/{messageId}", response=responses(OkOut), summary="Delete a message")
def delete_message(request: HttpRequest, messageId: int) -> dict[str, Any]:
    key = require(request, "ticket.operate")
    message = find_message(request, messageId)
    audited(request, "api.message.deleted", message.group.ticket, message=message.pk)
    actions.delete_message(message, actor=key.user)
    return OK
