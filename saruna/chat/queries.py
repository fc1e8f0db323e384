"""Reads shared by the chat's sockets, its JSON endpoints and the agent screens: summaries,
message payloads, availability, queue position and estimated wait."""

from __future__ import annotations

import hashlib
import hmac
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.chat.models import (
    AgentAvailability,
    AgentStatus,
    Chat,
    ChatButton,
    ChatMessage,
    ChatParticipant,
    ChatSettings,
    ChatStatus,
    MessageKind,
    Ring,
    RingOutcome,
)
from saruna.core.models import Account
from saruna.realtime.bus import group_name
from saruna.tickets import queries as ticket_queries
from saruna.tickets.models import Department

WAITING = (ChatStatus.QUEUED, ChatStatus.RINGING)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Without history, estimates start from these.
DEFAULT_ACCEPT_SECONDS = 30
DEFAULT_CHAT_SECONDS = 300
CATCH_UP_LIMIT = 500


# --- channel-layer groups (names start with the account id) -------------------------------


def chat_group(chat: Chat) -> str:
    """The visitor's sockets and long-polls, and the sockets of the chat's agents."""
    return chat_group_for(str(chat.account_id), chat.public_id)


def chat_group_for(account_id: str, chat_id: str) -> str:
    return group_name(account_id, "chat", chat_id)


def agent_group(account_id: str, user_id: str) -> str:
    """Every chat socket (tab) of one agent: rings, assignments, status."""
    return group_name(account_id, "chatagent", user_id)


# --- settings and buttons -----------------------------------------------------------------


def chat_settings(account: Account) -> ChatSettings:
    """The account's chat settings, made with the defaults on first use."""
    found = ChatSettings.objects.filter(account=account).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ChatSettings.objects.create(account=account)
    except IntegrityError:  # another request made them first
        return ChatSettings.objects.get(account=account)


def embed_snippet(button: ChatButton) -> str:
    return str(format_html(
        '<script async src="{}" data-saruna-button="{}"></script>',
        f"{button.account.url.rstrip('/')}/widget/loader.js", button.public_id,
    ))


def within_schedule(button: ChatButton, now: datetime | None = None) -> bool:
    """Whether ``now`` falls in the button's weekly schedule (the account's time zone); an
    empty schedule is always."""
    if not button.schedule:
        return True
    try:
        zone = zoneinfo.ZoneInfo(button.account.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = (now or timezone.now()).astimezone(zone)
    clock = local.strftime("%H:%M")
    intervals = button.schedule.get(WEEKDAYS[local.weekday()]) or []
    return any(start <= clock < end for start, end in intervals)


def button_online(button: ChatButton, now: datetime | None = None) -> bool:
    """The widget offers a chat: the button is enabled, inside its schedule, and someone in
    its department is online and there (busy agents count: the chat queues for them)."""
    now = now or timezone.now()
    return (
        button.enabled and within_schedule(button, now)
        and bool(present_agents(button.department, now))
    )


# --- agents -------------------------------------------------------------------------------


def chat_account(user: User) -> Account:
    """An agent's account (provider staff have none and never chat)."""
    assert user.account is not None
    return user.account


def agent_availability(user: User) -> AgentAvailability:
    found = AgentAvailability.objects.filter(user=user).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return AgentAvailability.objects.create(account_id=user.account_id, user=user)
    except IntegrityError:
        return AgentAvailability.objects.get(user=user)


def effective_status(availability: AgentAvailability, department: Department) -> str:
    return str(availability.departments.get(department.public_id) or availability.status)


def max_chats(availability: AgentAvailability, settings_: ChatSettings) -> int:
    return availability.max_chats or settings_.default_max_chats


def is_there(availability: AgentAvailability, settings_: ChatSettings, now: datetime) -> bool:
    """One of the agent's chat sockets showed life within the grace period."""
    return availability.last_seen >= now - timedelta(seconds=settings_.away_grace_seconds)


def present_agents(department: Department, now: datetime) -> list[AgentAvailability]:
    """Availabilities of the department's active agents who are online there and whose
    browser is there (or went away less than the grace period ago)."""
    settings_ = chat_settings(department.account)
    rows = AgentAvailability.objects.filter(
        user__in=department.agents.filter(is_active=True),
        last_seen__gte=now - timedelta(seconds=settings_.away_grace_seconds),
    ).select_related("user")
    return [a for a in rows if effective_status(a, department) == AgentStatus.ONLINE]


def active_chat_counts(user_ids: list[str]) -> dict[str, int]:
    """Running chats each agent owns."""
    rows = (
        Chat.objects.filter(agent_id__in=user_ids, status=ChatStatus.CHATTING)
        .values("agent_id").annotate(n=Count("pk"))
    )
    return {row["agent_id"]: row["n"] for row in rows}


def agent_state(user: User) -> dict[str, Any]:
    """What the agent's ``status`` frame carries."""
    return state_of(agent_availability(user), chat_settings(chat_account(user)),
                    active_chat_counts([user.pk]).get(user.pk, 0))


def state_of(availability: AgentAvailability, settings_: ChatSettings,
             active_chats: int) -> dict[str, Any]:
    """:func:`agent_state` from what the caller has read already."""
    return {
        "status": availability.status,
        "departments": availability.departments,
        "max_chats": max_chats(availability, settings_),
        "active_chats": active_chats,
    }


def running_chats(user: User) -> list[Chat]:
    """Chats the agent owns or has joined that have not ended, ready for
    :func:`chat_summary` (their present participants come along)."""
    joined = ChatParticipant.objects.filter(user=user, left__isnull=True).values("chat_id")
    return list(
        Chat.objects.filter(Q(agent=user) | Q(pk__in=joined), status=ChatStatus.CHATTING)
        .select_related(*SUMMARY_RELATED).prefetch_related(present_participants())
        .order_by("date_accepted", "pk")
    )


def open_rings(user: User) -> list[Ring]:
    """The agent's ringing rings, ready for ``dispatch.ring_payload``. The rings are read
    alone and their chats only if there are any: the joins a summary needs cost an agent
    tab's every connect some 2 ms to build, and most connects find no ring."""
    rings = list(Ring.objects.filter(user=user, outcome=RingOutcome.RINGING)
                 .order_by("started", "pk"))
    prefetch_related_objects(rings, "requested_by", Prefetch(
        "chat", Chat.objects.select_related(*SUMMARY_RELATED).prefetch_related(
            present_participants())))
    return rings


def is_member(chat: Chat, user: User) -> bool:
    """The agent owns the chat or has joined it (and not left)."""
    return chat.agent_id == user.pk or ChatParticipant.objects.filter(
        chat=chat, user=user, left__isnull=True
    ).exists()


def visible_chat(user: User, chat_id: object) -> Chat | None:
    """A chat this agent may open: one they take part in or are rung for, or one whose
    ticket they may see."""
    if not isinstance(chat_id, str):
        return None
    chat = Chat.objects.select_related(*SUMMARY_RELATED).filter(public_id=chat_id).first()
    if chat is None or chat.account_id != user.account_id:
        return None
    if is_member(chat, user) or Ring.objects.filter(chat=chat, user=user).exists():
        return chat
    return chat if ticket_queries.can_see_ticket(user, chat.ticket) else None


def waiting_chats(user: User) -> list[Chat]:
    departments = Department.objects.filter(agents=user)
    return list(
        Chat.objects.filter(status__in=WAITING, department__in=departments)
        .select_related(*SUMMARY_RELATED).order_by("date_queued", "pk")
    )


# --- the queue ----------------------------------------------------------------------------


def queue_position(chat: Chat) -> int | None:
    """1 for the next chat to be answered in its department; None once it is not waiting."""
    if chat.status not in WAITING:
        return None
    ahead = Chat.objects.filter(
        department_id=chat.department_id, status__in=WAITING
    ).filter(Q(date_queued__lt=chat.date_queued) | Q(date_queued=chat.date_queued, pk__lt=chat.pk))
    return ahead.count() + 1


def estimated_wait(chat: Chat, position: int | None = None) -> int | None:
    """Seconds until an agent answers: the department's recent time to accept a chat, plus,
    for each chat ahead, a recent chat's length shared by the agents online there."""
    position = position if position is not None else queue_position(chat)
    if position is None:
        return None
    recent = list(
        Chat.objects.filter(department_id=chat.department_id, date_accepted__isnull=False)
        .order_by("-date_accepted").values_list("date_queued", "date_accepted", "date_ended")[:20]
    )
    accept = _average([(accepted - queued) for queued, accepted, _end in recent],
                      DEFAULT_ACCEPT_SECONDS)
    length = _average([(ended - accepted) for _queued, accepted, ended in recent if ended],
                      DEFAULT_CHAT_SECONDS)
    agents = max(1, len(present_agents(chat.department, timezone.now())))
    return max(5, round(accept + (position - 1) * length / agents))


def _average(spans: list[timedelta], default: int) -> float:
    return sum(s.total_seconds() for s in spans) / len(spans) if spans else default


# --- payloads -----------------------------------------------------------------------------


SUMMARY_RELATED = ("ticket", "ticket__owner", "department", "button", "agent", "visitor")


def present_participants() -> Prefetch:
    """A chat's participants who have not left, as ``chat.present_participants``
    (:func:`chat_summary`)."""
    return Prefetch(
        "participants", ChatParticipant.objects.filter(left__isnull=True).select_related("user"),
        to_attr="present_participants")


def visitor_name(chat: Chat) -> str:
    if chat.visitor is not None and chat.visitor.name:
        return chat.visitor.name
    name = chat.fields.get("name") if isinstance(chat.fields, dict) else None
    return str(name) if name else gettext("Visitor")


def file_signature(chat: Chat, file_id: str) -> str:
    """Signs a chat file's link: whoever has the chat's transcript may fetch its files."""
    message = f"chatfile:{chat.account_id}:{chat.public_id}:{file_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def file_url(chat: Chat, file_id: str) -> str:
    return f"/widget/chats/{chat.public_id}/files/{file_id}/{file_signature(chat, file_id)}/"


def message_payload(message: ChatMessage, chat: Chat) -> dict[str, Any]:
    """A message as both sides see it (widget.md)."""
    if message.kind == MessageKind.AGENT:
        author = message.author.full_name if message.author is not None else ""
    elif message.kind == MessageKind.VISITOR:
        author = visitor_name(chat)
    else:
        author = ""
    files = []
    if message.file is not None:
        stored = message.file
        files.append({"id": stored.public_id, "name": stored.name, "size": stored.size,
                      "url": file_url(chat, stored.public_id)})
    return {
        "id": str(message.pk),
        "seq": message.seq,
        "client_id": message.client_id,
        "kind": message.kind,
        "author": author,
        "body": message.body,
        "files": files,
        "date": message.date.isoformat(),
    }


def messages_after(chat: Chat, after_seq: int, limit: int = CATCH_UP_LIMIT) -> list[ChatMessage]:
    return list(
        ChatMessage.objects.filter(chat=chat, seq__gt=after_seq)
        .select_related("author", "file").order_by("seq")[:limit]
    )


def payloads_after(chat: Chat, after_seq: int, limit: int = CATCH_UP_LIMIT) -> list[dict]:
    return [message_payload(m, chat) for m in messages_after(chat, after_seq, limit)]


def visitor_state(chat: Chat) -> dict[str, Any]:
    """The ``state`` the visitor's widget shows."""
    position = queue_position(chat)
    agent = None
    if chat.agent is not None:
        agent = {"name": chat.agent.full_name, "avatar_url": ""}
    return {
        "status": chat.status,
        "queue_position": position,
        "estimated_wait": estimated_wait(chat, position) if position is not None else None,
        "agent": agent,
        "offline": chat.went_offline,
        "last_seq": chat.last_seq,
    }


def chat_summary(chat: Chat) -> dict[str, Any]:
    """A chat as the agent UI lists it."""
    ticket = chat.ticket
    visitor = chat.visitor
    present = getattr(chat, "present_participants", None)
    if present is None:
        present = chat.participants.filter(left__isnull=True).select_related("user")
    participants = [{"id": p.user_id, "name": p.user.full_name} for p in present]
    return {
        "id": chat.public_id,
        "ticket": {"id": ticket.public_id, "code": ticket.code,
                   "url": f"/tickets/{ticket.public_id}/"},
        "status": chat.status,
        "channel_type": ticket.channel_type,
        "department": {"id": chat.department.public_id, "name": chat.department.name},
        "button": {"id": chat.button.public_id, "name": chat.button.name}
        if chat.button is not None else None,
        "agent": {"id": chat.agent.pk, "name": chat.agent.full_name}
        if chat.agent is not None else None,
        "participants": participants,
        "visitor": {
            "id": visitor.public_id if visitor is not None else None,
            "name": visitor_name(chat),
            "email": (visitor.email if visitor is not None else "") or str(
                chat.fields.get("email", "")),
            "contact_id": ticket.owner.public_id if ticket.owner is not None else None,
        },
        "fields": chat.fields,
        "language": chat.language,
        "date_queued": chat.date_queued.isoformat(),
        "date_accepted": chat.date_accepted.isoformat() if chat.date_accepted else None,
        "date_ended": chat.date_ended.isoformat() if chat.date_ended else None,
        "last_seq": chat.last_seq,
        "visitor_read_seq": chat.visitor_read_seq,
        "rating": chat.rating,
        "rating_comment": chat.rating_comment,
    }


def visitor_details(chat: Chat) -> dict[str, Any]:
    """Who the visitor is beside the chat: name, e-mail, pre-chat answers, contact and
    earlier chats (the visitor tracking's panel adds pages, source and place)."""
    return {
        "name": visitor_name(chat),
        "email": chat.visitor.email if chat.visitor is not None else "",
        "fields": chat.fields,
        "contact_id": chat.ticket.owner.public_id if chat.ticket.owner is not None else None,
        "previous_chats": Chat.objects.filter(visitor=chat.visitor).exclude(pk=chat.pk).count()
        if chat.visitor is not None else 0,
    }


# --- the widget's configuration -----------------------------------------------------------


def languages_offered(button: ChatButton) -> list[str]:
    """Languages the widget speaks for this button: Saruna's own and those the account gave
    the button texts in."""
    return sorted({code for code, _name in settings.LANGUAGES} | set(button.texts))


def widget_language(button: ChatButton, wanted: object) -> str:
    """The visitor's language when offered (``lv-LV`` counts as ``lv``), else the account's."""
    offered = languages_offered(button)
    if isinstance(wanted, str):
        for code in (wanted.lower(), wanted.split("-")[0].lower()):
            if code in offered:
                return code
    return button.account.language if button.account.language in offered else "en"


def default_texts() -> dict[str, str]:
    """The widget's texts in the active language, before the account's own."""
    return {
        "title": gettext("Chat with us"),
        "greeting": gettext("Hello! How can we help you?"),
        "offline_title": gettext("Leave us a message"),
        "offline_greeting": gettext("Nobody is online right now. Write to us and we will "
                                    "answer by e-mail."),
        "queued": gettext("Please wait, an agent will be with you shortly."),
        "ended": gettext("The chat has ended. Thank you!"),
        # The invitation bubble's answer button and its dismiss button's label.
        "reply": gettext("Reply"),
        "dismiss": gettext("Dismiss"),
    }


def button_texts(button: ChatButton, language: str) -> dict[str, str]:
    from django.utils import translation

    with translation.override(language):
        texts = default_texts()
    own = button.texts.get(language) or {}
    texts.update({k: v for k, v in own.items() if isinstance(v, str) and v.strip()})
    return texts


def widget_config(button: ChatButton, language: str) -> dict[str, Any]:
    """``GET /widget/<button>/config.json`` without the token and tracking parts."""
    return {
        "button": {
            "id": button.public_id,
            "position": button.position,
            "colors": button.colors,
            "texts": button_texts(button, language),
        },
        "online": button_online(button),
        "prechat_fields": button.prechat_fields,
        "offline_fields": button.offline_fields,
        "languages": languages_offered(button),
        "language": language,
    }
