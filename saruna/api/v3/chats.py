"""``GET /chats`` (API §16): one row per chat conversation; ``id`` is the ticket's id.

``status`` is the chat's (``Q`` in the queue, ``R`` ringing, ``C`` chatting, ``T``
finished); ``rstatus`` the ticket side (``I`` not yet answered, ``T`` chatting, ``R`` done)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, OuterRef, Subquery, Value, When
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from saruna.api.auth import require
from saruna.api.v3.common import Column, DateField, ListSpec, PageQuery, clock, page, responses
from saruna.chat.models import Chat, ChatMessage, ChatStatus, MessageKind

router = Router(tags=["chats"])

PREVIEW_LENGTH = 100
STATUS_CODES: dict[str, str] = {
    ChatStatus.QUEUED: "Q", ChatStatus.RINGING: "R", ChatStatus.CHATTING: "C",
    ChatStatus.ENDED: "T",
}
RSTATUS_CODES: dict[str, str] = {
    ChatStatus.QUEUED: "I", ChatStatus.RINGING: "I", ChatStatus.CHATTING: "T",
    ChatStatus.ENDED: "R",
}


class ChatInformationOut(Schema):
    id: str
    subject: str | None = None
    preview: str | None = None
    chat_order: str | None = DateField("when the chat entered the queue")
    date_created: str | None = DateField()
    status_date_started: str | None = DateField("since when status holds")
    tags: list[str]
    rstatus: str = Field(..., pattern="^[ITR]$")
    firstname: str | None = None
    lastname: str | None = None
    system_name: str | None = None
    avatar_url: str | None = None
    countrycode: str | None = None
    city: str | None = None
    departmentId: str
    agentId: str | None = None
    status: str = Field(..., pattern="^[CTRQ]$")
    emails: list[str]


def _code(mapping: dict[str, str]) -> Case:
    return Case(*(When(status=status, then=Value(code)) for status, code in mapping.items()))


def chat_out(request: HttpRequest, chat: Chat) -> dict[str, Any]:
    when = clock(request)
    ticket, owner = chat.ticket, chat.ticket.owner
    last: str = chat.last_text or ""  # type: ignore[attr-defined]
    started = {ChatStatus.CHATTING: chat.date_accepted,
               ChatStatus.ENDED: chat.date_ended}.get(chat.status) or chat.date_queued  # type: ignore[call-overload]
    return {
        "id": ticket.public_id,
        "subject": ticket.subject,
        "preview": last[:PREVIEW_LENGTH] or None,
        "chat_order": when.format(chat.date_queued),
        "date_created": when.format(ticket.date_created),
        "status_date_started": when.format(started),
        "tags": sorted(t.public_id for t in ticket.tags.all()),
        "rstatus": RSTATUS_CODES[chat.status],  # type: ignore[index]
        "firstname": (owner.firstname or None) if owner else None,
        "lastname": (owner.lastname or None) if owner else None,
        "system_name": (owner.system_name or None) if owner else None,
        "avatar_url": (owner.avatar_url or None) if owner else None,
        "countrycode": (owner.countrycode or None) if owner else None,
        "city": (owner.city or None) if owner else None,
        "departmentId": chat.department.public_id,
        "agentId": chat.agent_id,
        "status": STATUS_CODES[chat.status],  # type: ignore[index]
        "emails": owner.email_list() if owner else [],
    }


CODES = frozenset({"E", "IN", "NI"})
IDS = frozenset({"E", "IN"})
CHATS = ListSpec(
    columns={
        "date_created": Column("ticket__date_created", "date"),
        "chat_order": Column("date_queued", "date"),
        "status": Column("status_code", "exact", CODES),
        "rstatus": Column("rstatus_code", "exact", CODES),
        "departmentId": Column("department__public_id", "exact", IDS),
        "department_id": Column("department__public_id", "exact", IDS),
        "agentId": Column("agent_id", "exact", IDS),
        "agent_id": Column("agent_id", "exact", IDS),
        "tags": Column("ticket__tags__public_id", "multi"),
    },
    sorts={"date_created": "ticket__date_created", "chat_order": "date_queued"},
    default_sort="date_created",
    serialize=chat_out,
)


@router.get("/chats", response=responses(list[ChatInformationOut]), summary="List chats")
def list_chats(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "chats.read")
    latest = ChatMessage.objects.filter(chat=OuterRef("pk")).exclude(
        kind=MessageKind.SYSTEM).order_by("-seq").values("body")[:1]
    chats = Chat.objects.annotate(
        status_code=_code(STATUS_CODES), rstatus_code=_code(RSTATUS_CODES),
        last_text=Subquery(latest),
    ).select_related("ticket__owner", "department").prefetch_related(
        "ticket__tags", "ticket__owner__emails",
    )
    return page(request, chats, CHATS, params)
