"""Agents (API §11): the account's users, their chat availability per department, what the
online ones are working on, and ``_logout`` / ``_pause``. ``me`` is the key's user.

``online_status``: ``N`` online and present (a chat socket showed life within the account's
grace period), ``P`` away (paused) and present, ``F`` otherwise. Channel letters (§4): ``R``
and ``M`` (tickets and messages) whenever the agent is there, ``T`` (chat) where the agent
is online for chats in that department.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.accounts import actions as account_actions
from saruna.accounts import sessions
from saruna.accounts.models import User, UserSession
from saruna.api.auth import ApiError, require
from saruna.api.models import ApiKey
from saruna.api.v3.common import (
    OK,
    Column,
    DateField,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    clock,
    page,
    parse_filters,
    responses,
    yn,
)
from saruna.chat import actions as chat_actions
from saruna.chat import queries as chat_queries
from saruna.chat.models import AgentAvailability, AgentStatus, Chat, ChatStatus
from saruna.contacts.common import ActionError
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import Department, Status, Ticket

router = Router(tags=["agents"])

# Ticket states that still want their agent (unassigned when the agent is deleted).
OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.ANSWERED, Status.POSTPONED, Status.CHATTING,
                 Status.CALLING, Status.INIT)


class AgentOut(Schema):
    id: str
    name: str = Field(..., min_length=1)
    email: str = Field(..., min_length=1)
    role: str = Field(..., pattern="^(owner|admin|agent)$")
    roleId: str | None = Field(None, description="id of a custom role; Saruna has none")
    avatar_url: str | None = None
    online_status: str = Field(..., pattern="^[FNPC]$")
    status: str = Field(..., pattern="^[AX]$")
    gender: str = Field("X", pattern="^[MFX]$")
    last_pswd_change: str | None = DateField()
    twofactor_auth: str = Field("N", pattern="^[YN]$")
    voice_status: str | None = None
    sip_phone_id: str | None = None
    api_phone_id: str | None = None


class AgentIn(Schema):
    """Sparse (§11.2). ``name``, ``email`` (the login address; its old address is told),
    ``avatar_url`` and ``gender`` are written — a ``gender`` of ``X``, which clients send by
    default, never overwrites ``M``/``F``. ``role`` (clients always send ``agent``),
    ``roleId`` (Saruna has no custom roles), ``voice_status`` (no telephony) and the
    read-only fields are ignored."""

    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None
    gender: str | None = Field(None, pattern="^[MFX]$")


class AgentStatusOut(Schema):
    departmentid: str
    online_status: str = Field(..., description="channel letters R M T P available now")
    preset_status: str = Field(..., description="channel letters the agent chose")
    work_allocation_allowed: bool


class ActiveTicketOut(Schema):
    ticket_id: str
    ticket_code: str
    date_joined: str | None = DateField()
    department_id: str
    status: str = Field(..., pattern="^[VJRC]$")
    ticket_status: str = Field(..., pattern="^[CRAXTP]$")


class AgentActivityOut(Schema):
    id: str
    agent_status: str = Field(..., pattern="^[AB]$")
    active_tickets: list[ActiveTicketOut]


def _present_since(account: Any) -> datetime:
    grace = chat_queries.chat_settings(account).away_grace_seconds
    return timezone.now() - timedelta(seconds=grace)


def with_presence(request: HttpRequest, users: QuerySet[User]) -> QuerySet[User]:
    """``status_code`` (A/X) and ``online_code`` (N/P/F) as columns, so they filter and sort
    in the database."""
    there = Q(is_active=True, chat_availability__last_seen__gte=_present_since(request.account))  # type: ignore[attr-defined]
    return users.annotate(
        status_code=Case(When(is_active=True, then=Value("A")), default=Value("X")),
        online_code=Case(
            When(there & Q(chat_availability__status=AgentStatus.ONLINE), then=Value("N")),
            When(there & Q(chat_availability__status=AgentStatus.AWAY), then=Value("P")),
            default=Value("F"),
        ),
    ).select_related("chat_availability")


def agent_out(request: HttpRequest, user: User) -> dict[str, Any]:
    return {
        "id": user.pk, "name": user.full_name or user.email, "email": user.email,
        "role": user.role if user.role in ("owner", "admin", "agent") else "agent",
        "roleId": None, "avatar_url": user.avatar_url or None,
        "online_status": getattr(user, "online_code", "F"),
        "status": "A" if user.is_active else "X", "gender": user.gender,
        "last_pswd_change": clock(request).format(user.last_password_change),
        "twofactor_auth": yn(user.totp_enabled), "voice_status": None, "sip_phone_id": None,
        "api_phone_id": None,
    }


CODES = frozenset({"E", "IN", "NI"})
AGENTS = ListSpec(
    columns={
        "id": Column("pk", "exact", CODES),
        "email": Column("email", operators=CODES | {"L", "LIKE"}),
        "role": Column("role", "exact", CODES),
        "status": Column("status_code", "exact", CODES),
        "online_status": Column("online_code", "exact", CODES),
        "name": Column("full_name", operators=frozenset({"E", "L", "LIKE"})),
    },
    sorts={"name": "full_name", "email": "email", "role": "role", "id": "pk"},
    default_sort="name",
    serialize=agent_out,
)


def _agent(request: HttpRequest, user_id: str, *scopes: str) -> User:
    """The agent named by ``user_id`` (``me``: the key's user), if the key holds one of
    ``scopes`` — or the matching ``own`` scope for itself."""
    key: ApiKey = require(request)
    if user_id == "me":
        if key.user is None:
            raise ApiError(404, gettext("This API key acts as no user."))
        user_id = key.user.pk
    found = with_presence(request, User.objects.filter(pk=user_id)).first()
    if found is None:
        raise ApiError(404, gettext("Unknown agent."))
    own = [s.rsplit(".", 1)[0] + ".own" for s in scopes if s.endswith(".read")]
    mine = key.user is not None and key.user.pk == found.pk
    require(request, *scopes, *(own if mine else []))
    return found


@router.get("/agents", response=responses(list[AgentOut]), summary="List agents")
def list_agents(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "agent.read")
    users = with_presence(request, User.objects.all())
    if not any(c.column == "status" for c in parse_filters(params.filters, AGENTS.columns)):
        users = users.filter(is_active=True)  # deleted agents only when asked for (§11.2)
    return page(request, users, AGENTS, params)


# --- activity (declared before /agents/{userId}) ---------------------------------------------


def _activity(request: HttpRequest, user: User) -> dict[str, Any]:
    when = clock(request)
    rows = [
        {"ticket_id": chat.ticket.public_id, "ticket_code": chat.ticket.code,
         "date_joined": when.format(chat.date_accepted or chat.date_queued),
         "department_id": chat.department.public_id, "status": "J", "ticket_status": "T"}
        for chat in chat_queries.running_chats(user)
    ]
    rows += [
        {"ticket_id": ring.chat.ticket.public_id, "ticket_code": ring.chat.ticket.code,
         "date_joined": when.format(ring.started), "department_id": ring.chat.department.public_id,
         "status": "R", "ticket_status": "T"}
        for ring in chat_queries.open_rings(user)
    ]
    return {"id": user.pk, "agent_status": getattr(user, "busy_code", "A"),
            "active_tickets": rows}


ACTIVITY = ListSpec(
    columns={"id": Column("pk", "exact", CODES), "agent_status": Column("busy_code", "exact",
                                                                          CODES)},
    sorts={"id": "pk", "name": "full_name"},
    default_sort="id",
    serialize=_activity,
)


@router.get("/agents/activity", response=responses(list[AgentActivityOut]),
            summary="What the online agents are working on")
def agents_activity(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "agent_status.read", "agent_status.manage")
    settings_ = chat_queries.chat_settings(request.account)  # type: ignore[attr-defined]
    chatting = Chat.objects.filter(agent=OuterRef("pk"), status=ChatStatus.CHATTING).values(
        "agent").annotate(n=Count("pk")).values("n")
    present = with_presence(request, User.objects.all())
    users = present.filter(online_code="N").annotate(  # type: ignore[misc]  # annotated above
        running_chats=Coalesce(Subquery(chatting), 0),
        capacity=Coalesce("chat_availability__max_chats", settings_.default_max_chats),
    ).annotate(busy_code=Case(When(running_chats__gte=F("capacity"), then=Value("B")),
                              default=Value("A")))
    return page(request, users, ACTIVITY, params)


@router.get("/agents/{userId}", response=responses(AgentOut), summary="Get an agent")
def get_agent(request: HttpRequest, userId: str) -> dict[str, Any]:
    return agent_out(request, _agent(request, userId, "agent.read"))


@router.put("/agents/{userId}", response=responses(AgentOut), summary="Change an agent")
def update_agent(request: HttpRequest, userId: str, payload: AgentIn) -> dict[str, Any]:
    user = _agent(request, userId, "agent.manage")
    key: ApiKey = request.api_key  # type: ignore[attr-defined]
    sent = payload.model_dump(exclude_unset=True)
    name = (sent.get("name") or "").strip()
    if "name" in sent and not name:
        raise ApiError(400, gettext("name cannot be empty."))
    changed = {}
    if name and name != user.full_name:
        changed["full_name"] = name
    avatar = (sent.get("avatar_url") or "").strip()
    if "avatar_url" in sent and avatar != user.avatar_url:
        try:
            if avatar:
                URLValidator(schemes=["https", "http"])(avatar)
        except ValidationError as error:
            raise ApiError(400, gettext("avatar_url: enter a web address.")) from error
        changed["avatar_url"] = avatar
    if sent.get("gender") in ("M", "F") and sent["gender"] != user.gender:
        changed["gender"] = sent["gender"]
    for field, value in changed.items():
        setattr(user, field, value)
    if changed:
        user.save(update_fields=list(changed))
        audited(request, "agent.changed", target=user, fields=sorted(changed))
    if sent.get("email"):
        try:
            account_actions.change_login_email(request, user, sent["email"], actor=key.user)
        except account_actions.ActionError as error:
            raise ApiError(error.status, f"email: {error.message}") from error
    return agent_out(request, _agent(request, user.pk, "agent.manage"))


@router.delete("/agents/{userId}", response=responses(OkOut),
               summary="Delete an agent: logged out, seat freed, tickets unassigned")
def delete_agent(request: HttpRequest, userId: str) -> dict[str, Any]:
    user = _agent(request, userId, "agent.manage")
    key: ApiKey = request.api_key  # type: ignore[attr-defined]
    if not user.is_active:
        return OK
    if user.is_owner or (key.user is not None and key.user.pk == user.pk):
        raise ApiError(409, gettext("The owner, and the key's own user, cannot be deleted."))
    try:
        account_actions.deactivate_user(request, user, actor=key.user)  # type: ignore[arg-type]
    except account_actions.ActionError as error:
        raise ApiError(409, str(error)) from error
    for ticket in Ticket.objects.filter(agent=user, status__in=OPEN_STATUSES):
        ticket_actions.assign_ticket(ticket, None, actor=key.user)
    audited(request, "agent.deleted", target=user)
    return OK


@router.get("/agents/{userId}/status", response=responses(list[AgentStatusOut]),
            summary="The agent's availability per department")
def agent_status(request: HttpRequest, userId: str) -> list[dict[str, Any]]:
    user = _agent(request, userId, "agent_status.read", "agent_status.manage")
    return statuses(user)


def statuses(user: User) -> list[dict[str, Any]]:
    online = getattr(user, "online_code", "F")
    availability = AgentAvailability.objects.filter(user=user).first()
    rows = []
    for department in Department.objects.filter(agents=user).order_by("name", "pk"):
        chosen = (chat_queries.effective_status(availability, department)
                  if availability is not None else AgentStatus.OFFLINE)
        chats = chosen == AgentStatus.ONLINE
        rows.append({
            "departmentid": department.public_id,
            "online_status": ("RM" + ("T" if chats and online == "N" else ""))
            if online != "F" and user.is_active else "",
            "preset_status": "RM" + ("T" if chats else ""),
            "work_allocation_allowed": user.is_active and chosen != AgentStatus.OFFLINE,
        })
    return rows


@router.put("/agents/{userId}/status", response=responses(OkOut), include_in_schema=False)
def set_agent_status(request: HttpRequest, userId: str) -> dict[str, Any]:
    """Appendix A's 501, declared here because a path serves one router: the 501 list would
    otherwise hide ``GET /agents/{userId}/status``."""
    require(request)
    raise ApiError(501, "Not implemented: PUT /agents/{userId}/status")


@router.post("/agents/{userId}/_logout", response=responses(OkOut),
             summary="End every session of the agent; offline for chats")
def logout_agent(request: HttpRequest, userId: str) -> dict[str, Any]:
    user = _agent(request, userId, "agent_status.manage")
    sessions.end_all_sessions(user, UserSession.EndReason.REVOKED)
    _set_chat_status(user, AgentStatus.OFFLINE)
    audited(request, "agent.logged_out", target=user)
    return OK


@router.post("/agents/{userId}/_pause", response=responses(OkOut),
             summary="Pause the agent: logged in, no new chats")
def pause_agent(request: HttpRequest, userId: str) -> dict[str, Any]:
    user = _agent(request, userId, "agent_status.manage")
    _set_chat_status(user, AgentStatus.AWAY)
    audited(request, "agent.paused", target=user)
    return OK


def _set_chat_status(user: User, status: str) -> None:
    if not user.is_active:
        raise ApiError(409, gettext("This agent is deleted."))
    try:
        chat_actions.set_agent_status(user, status)
    except ActionError as error:
        raise ApiError(400, error.message) from error
