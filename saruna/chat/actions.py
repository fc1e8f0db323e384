"""Every write of the live chat: buttons and settings, agent availability, starting a chat,
its messages, rings (accept, decline, transfer, invite), ending it, rating and transcript,
the offline form, and the sweep that moves time forward.

One transaction each; bad input raises :class:`ActionError` and changes nothing. Events go
to the sockets after commit (``bus.publish``).

**Delivery.** A message gets its per-chat ``seq`` inside the transaction that stores it,
under the chat's row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE
transactions hold the database's write lock from their start), so seqs are 1, 2, 3 … without
gaps in commit order. The client's id is unique per chat: a retry finds the stored message
and gets it back, never a second one. The broadcast leaves only after the commit.

Webhooks and other listeners: a chat starts in :func:`start_chat` and ends in
:func:`end_chat`, and nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.chat import dispatch, queries
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
    Position,
    Rating,
    Ring,
    RingOutcome,
    RingPurpose,
    RoutingMethod,
)
from saruna.contacts import actions as contact_actions
from saruna.contacts.common import ActionError, delete_record, save_record
from saruna.contacts.models import Contact
from saruna.core import audit, rows
from saruna.core.models import Account
from saruna.core.outbox import queue_email
from saruna.realtime.bus import publish
from saruna.search import index as search_index
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import (
    ChannelType,
    Department,
    GroupType,
    MessageType,
    Status,
    StoredFile,
    Ticket,
)
from saruna.visitors import actions as visitor_actions
from saruna.visitors import queries as visitor_queries
from saruna.visitors.identity import CustomerIdentity, apply_identity
from saruna.visitors.models import Visitor
from saruna.webhooks import actions as webhooks

__all__ = ["ActionError"]

MAX_BODY = 10_000
MAX_CLIENT_ID = 64
MAX_FIELD = 1_000
FIELD_TYPES = ("text", "email", "textarea", "select")
# A visitor with no sign of life this long (no socket, no poll) has left: the chat ends.
VISITOR_IDLE = timedelta(minutes=15)
UNCHANGED: Any = object()


# --- buttons and settings -----------------------------------------------------------------


def _check_fields(value: object, label: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ActionError(gettext("%(label)s must be a list.") % {"label": label})
    names = set()
    for field in value:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str) or not (
            field["name"].strip()
        ):
            raise ActionError(gettext("Every field of %(label)s needs a name.") % {"label": label})
        if field.get("type", "text") not in FIELD_TYPES:
            raise ActionError(gettext("Unknown field type: %(t)s") % {"t": field.get("type")})
        if field["name"] in names:
            raise ActionError(gettext("Two fields are named %(n)s.") % {"n": field["name"]})
        names.add(field["name"])
    return value


def _check_schedule(value: object) -> dict[str, list[list[str]]]:
    if not isinstance(value, dict):
        raise ActionError(gettext("The schedule must map weekdays to time intervals."))
    for day, intervals in value.items():
        if day not in queries.WEEKDAYS or not isinstance(intervals, list):
            raise ActionError(gettext("Unknown weekday in the schedule: %(d)s") % {"d": day})
        for interval in intervals:
            if (not isinstance(interval, list | tuple) or len(interval) != 2
                    or not all(isinstance(t, str) and _is_clock(t) for t in interval)
                    or interval[0] >= interval[1]):
                raise ActionError(
                    gettext("A schedule interval is two times like 09:00 and 17:00.")
                )
    return value


def _is_clock(text: str) -> bool:
    hours, _sep, minutes = text.partition(":")
    return (len(text) == 5 and hours.isdigit() and minutes.isdigit()
            and int(hours) < 24 and int(minutes) < 60) or text == "24:00"


def save_chat_button(
    account: Account, button: ChatButton | None = None, *, actor: User | None = None,
    **fields: Any,
) -> ChatButton:
    """Creates (``button`` None) or updates a chat button; only given fields change."""
    if "department" in fields and (
        not isinstance(fields["department"], Department)
        or fields["department"].account_id != account.pk
    ):
        raise ActionError(gettext("Unknown department."))
    if button is None and "department" not in fields:
        fields["department"] = ticket_actions.default_department(account)
    for name in ("prechat_fields", "offline_fields"):
        if name in fields:
            _check_fields(fields[name], name)
    if "schedule" in fields:
        _check_schedule(fields["schedule"])
    if "texts" in fields and not (
        isinstance(fields["texts"], dict)
        and all(isinstance(v, dict) for v in fields["texts"].values())
    ):
        raise ActionError(gettext("Texts map a language code to the texts in it."))
    if "colors" in fields and not isinstance(fields["colors"], dict):
        raise ActionError(gettext("Colours map a name to a colour."))
    if "position" in fields and fields["position"] not in Position.values:
        raise ActionError(gettext("Unknown position."))
    with transaction.atomic():
        saved = save_record(
            ChatButton, account, button, fields,
            ("name", "department", "colors", "position", "texts", "prechat_fields",
             "offline_fields", "schedule", "enabled"),
            conflict=gettext("A chat button like this exists already."),
        )
        audit.record(account, "chat_button.created" if button is None else "chat_button.changed",
                     actor=actor, target=saved)
    return saved


def delete_chat_button(button: ChatButton, *, actor: User | None = None) -> None:
    """The button's past chats keep their tickets; its widget stops working."""
    delete_record(button, actor=actor)


def save_chat_settings(
    account: Account, *, actor: User | None = None, **fields: Any
) -> ChatSettings:
    current = queries.chat_settings(account)
    if "routing_method" in fields and fields["routing_method"] not in RoutingMethod.values:
        raise ActionError(gettext("Unknown routing method."))
    for name in ("ring_seconds", "wait_limit", "max_queue", "default_max_chats",
                 "away_grace_seconds"):
        if name in fields and (not isinstance(fields[name], int) or fields[name] < 1):
            raise ActionError(gettext("%(name)s must be a whole number above zero.")
                              % {"name": name})
    if "priority_order" in fields:
        order = fields["priority_order"]
        if not isinstance(order, list) or User.objects.filter(pk__in=order).count() != len(
            set(order)
        ):
            raise ActionError(gettext("The priority order names unknown agents."))
    with transaction.atomic():
        saved = save_record(
            ChatSettings, account, current, fields,
            ("routing_method", "ring_seconds", "wait_limit", "max_queue", "default_max_chats",
             "priority_order", "away_grace_seconds"),
            conflict=gettext("The chat settings changed meanwhile; try again."),
        )
        audit.record(account, "chat_settings.changed", actor=actor,
                     fields=sorted(fields))
    return saved


# --- agent availability -------------------------------------------------------------------


def set_agent_status(
    user: User, status: str | None = None, *, departments: Mapping[str, str | None] | None = None,
    max_chats: Any = UNCHANGED,
) -> AgentAvailability:
    """Sets the agent's chat status, per-department overrides (``None`` removes one) and
    maximum of concurrent chats (``None``: the account's default). Going online offers the
    agent the chats waiting in their departments."""
    if status is not None and status not in AgentStatus.values:
        raise ActionError(gettext("Unknown status."))
    if max_chats is not UNCHANGED and max_chats is not None and (
        not isinstance(max_chats, int) or isinstance(max_chats, bool) or not 1 <= max_chats <= 50
    ):
        raise ActionError(gettext("The maximum of chats is a number from 1 to 50."))
    own = list(Department.objects.filter(agents=user))
    for department_id, value in (departments or {}).items():
        if department_id not in {d.public_id for d in own}:
            raise ActionError(
                gettext("You are not in the department %(d)s.") % {"d": department_id}
            )
        if value is not None and value not in AgentStatus.values:
            raise ActionError(gettext("Unknown status."))
    now = timezone.now()
    with transaction.atomic():
        availability = queries.agent_availability(user)
        availability = AgentAvailability.objects.select_for_update().get(pk=availability.pk)
        before = _statuses(availability, own)
        if status is not None:
            availability.status = status
        overrides = dict(availability.departments)
        for department_id, value in (departments or {}).items():
            if value is None:
                overrides.pop(department_id, None)
            else:
                overrides[department_id] = value
        availability.departments = overrides
        if max_chats is not UNCHANGED:
            availability.max_chats = max_chats
        availability.last_seen = now
        availability.save()
        if _statuses(availability, own) != before:
            webhooks.emit(availability.account_id, "agent.status_changed", lambda: {
                "id": user.pk, "name": user.full_name,
                **_statuses(availability, own)})
        _publish_agent_state(user)
        _offer_waiting_chats(user, now)
    return availability


def _statuses(availability: AgentAvailability, departments: list[Department]) -> dict[str, Any]:
    """The agent's status and, per department of theirs, the status that counts there."""
    return {"status": availability.status,
            "departments": {d.public_id: queries.effective_status(availability, d)
                            for d in departments}}


def agent_seen(
    user: User, *, now: datetime | None = None
) -> tuple[AgentAvailability, ChatSettings]:
    """One of the agent's chat sockets connected, pinged or closed: the grace period counts
    from now. An agent coming back is offered the waiting chats. Answers the availability
    and the account's chat settings it read."""
    now = now or timezone.now()
    availability = queries.agent_availability(user)
    settings_ = queries.chat_settings(queries.chat_account(user))
    came_back = not queries.is_there(availability, settings_, now)
    AgentAvailability.objects.filter(pk=availability.pk).update(last_seen=now)
    availability.last_seen = now
    if came_back and availability.status != AgentStatus.OFFLINE:
        with transaction.atomic():
            _offer_waiting_chats(user, now)
    return availability, settings_


def _offer_waiting_chats(user: User, now: datetime) -> None:
    for department in Department.objects.filter(agents=user):
        dispatch.route_department(department, now)


def _publish_agent_state(user: User) -> None:
    publish(queries.agent_group(str(user.account_id), user.pk), "chat.status",
            status=queries.agent_state(user))


# --- starting a chat ----------------------------------------------------------------------


def clean_fields(
    definitions: list[dict[str, Any]], data: object, *, extra: tuple[str, ...] = ()
) -> dict[str, str]:
    """The answers to a form of ``definitions`` (pre-chat or offline): required ones present,
    e-mails valid, choices among the options; other keys dropped except ``extra``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ActionError(gettext("The form's fields must be an object."))
    cleaned: dict[str, str] = {}
    for field in definitions:
        name = field["name"]
        value = data.get(name, "")
        if not isinstance(value, str):
            raise ActionError(gettext("%(label)s must be text.") % {"label": _label(field)})
        value = value.strip()[:MAX_FIELD]
        if not value:
            if field.get("required"):
                raise ActionError(gettext("Please fill in %(label)s.") % {"label": _label(field)})
            continue
        if field.get("type") == "email":
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ActionError(
                    gettext("%(label)s is not an e-mail address.") % {"label": _label(field)}
                ) from exc
        if field.get("type") == "select" and value not in (field.get("options") or []):
            raise ActionError(gettext("Choose one of the options for %(label)s.")
                              % {"label": _label(field)})
        cleaned[name] = value
    for name in extra:
        value = data.get(name)
        if isinstance(value, str) and value.strip() and name not in cleaned:
            cleaned[name] = value.strip()[:MAX_FIELD]
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError as exc:
            raise ActionError(gettext("This is not an e-mail address.")) from exc
    return cleaned


def _label(field: Mapping[str, Any]) -> str:
    return str(field.get("label") or field["name"])


def _clean_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= MAX_CLIENT_ID:
        raise ActionError(gettext("Every message needs a client id of 1 to 64 characters."))
    return client_id


def _clean_body(body: object, *, allow_empty: bool = False) -> str:
    if body is None and allow_empty:
        return ""
    if not isinstance(body, str):
        raise ActionError(gettext("The message must be text."))
    body = body.strip()
    if not body and not allow_empty:
        raise ActionError(gettext("The message cannot be empty."))
    if len(body) > MAX_BODY:
        raise ActionError(gettext("The message is too long."), "too_large")
    return body


def _contact_for(
    account: Account, visitor: Visitor, fields: Mapping[str, str],
) -> Contact:
    """The contact a chatting visitor becomes: by the verified identity's e-mail, else by
    the form's e-mail, else the visitor's earlier contact, else a new one."""
    email = visitor.email or fields.get("email", "")
    name = visitor.name or fields.get("name", "")
    if email:
        contact, _created = contact_actions.find_or_create_contact_by_email(
            account, email, name=name
        )
    elif visitor.contact is not None:
        contact = visitor.contact
    else:
        first, _sep, last = name.partition(" ")
        contact = contact_actions.create_contact(
            account, firstname=first, lastname=last,
            system_name=name or gettext("Visitor %(id)s") % {"id": visitor.public_id[:6]},
        )
    visitor_actions.link_visitor_to_contact(visitor, contact)
    return contact


def _start_info(button: ChatButton, fields: Mapping[str, str]) -> str:
    labels = {f["name"]: _label(f) for f in button.prechat_fields}
    lines = [f"{labels.get(name, name)}: {value}" for name, value in fields.items()]
    return "\n".join([gettext("Chat started"), *lines])


def start_chat(
    button: ChatButton,
    visitor: Visitor,
    *,
    fields: object = None,
    message: object = None,
    client_id: object = None,
    invitation: str = "",
    identity: CustomerIdentity | None = None,
    language: str = "",
    now: datetime | None = None,
) -> tuple[Chat, bool]:
    """Opens a chat (and its ticket, status T) for a visitor and puts it in the department's
    queue; answers the chat and whether it is new. A visitor with a running chat on this
    button gets that one back, and so does a retry of the same first message's client id.
    Nobody online, outside the schedule, or a full queue → ``ActionError`` ``offline``."""
    account = button.account
    now = now or timezone.now()
    body = _clean_body(message, allow_empty=True)
    first_id = _clean_client_id(client_id) if body else None
    cleaned = clean_fields(button.prechat_fields, fields, extra=("name", "email"))
    existing = _running_chat(button, visitor, first_id)
    if existing is not None:
        return existing, False
    settings_ = queries.chat_settings(account)
    waiting = Chat.objects.filter(department=button.department, status__in=queries.WAITING)
    # The agent whose invitation the visitor accepts takes the chat, whatever their departments.
    inviter = visitor_queries.inviting_agent(visitor, invitation) if invitation else None
    if not (inviter or queries.button_online(button, now)) or (
            waiting.count() >= settings_.max_queue):
        raise ActionError(
            gettext("Nobody can answer right now. Please leave us a message."), "offline"
        )
    with transaction.atomic():
        if identity is not None:
            apply_identity(visitor, identity)
        accepted = _accepted_invitation(account, visitor, invitation)
        contact = _contact_for(account, visitor, cleaned)
        with translation.override(account.language):
            subject = gettext("Chat with %(name)s") % {
                "name": cleaned.get("name") or visitor.name or contact.system_name
            }
            start_info = _start_info(button, cleaned)
        ticket = ticket_actions.open_ticket(
            account, subject, start_info, contact,
            channel_type=ChannelType.INVITATION if accepted else ChannelType.CHAT_BUTTON,
            department=button.department, status=Status.CHATTING,
            group_type=GroupType.STARTINFO, date_created=now,
        )
        chat = Chat.objects.create(
            account=account, ticket=ticket, visitor=visitor, button=button,
            department=button.department, language=language[:8], fields=cleaned,
            date_queued=now, visitor_last_seen=now,
            invitation_id=accepted.public_id if accepted else "",
        )
        if accepted is not None:
            # The invitation's words open the conversation, as the visitor saw them.
            _store(chat, MessageKind.AGENT if accepted.agent else MessageKind.SYSTEM,
                   f"invitation-{accepted.public_id}", accepted.text, author=accepted.agent,
                   now=now)
        if first_id is not None:
            _store(chat, MessageKind.VISITOR, first_id, body, now=now)
        if inviter is not None:
            dispatch.ring_first(chat, inviter, now)
        dispatch.route(chat, now)  # rings nobody else while the inviter's ring runs
        _publish_queue(chat.department)
        audit.record(account, "chat.started", target=ticket, chat=chat.public_id)
        webhooks.chat_started(chat)
        visitor_actions.chat_started(chat)
    return chat, True


def _accepted_invitation(account: Account, visitor: Visitor, invitation: str) -> Any:
    """The visitor's invitation, marked accepted; None when there is none (an unknown or
    another visitor's invitation starts an ordinary chat)."""
    if not invitation:
        return None
    try:
        return visitor_actions.accept_invitation(account, visitor, invitation)
    except ActionError:
        return None


def _running_chat(button: ChatButton, visitor: Visitor, first_id: str | None) -> Chat | None:
    if first_id is not None:
        sent = ChatMessage.objects.filter(
            chat__visitor=visitor, chat__button=button, client_id=first_id, seq=1
        ).select_related("chat").first()
        if sent is not None:
            return sent.chat
    return Chat.objects.filter(
        visitor=visitor, button=button, status__in=(*queries.WAITING, ChatStatus.CHATTING)
    ).order_by("-date_queued").first()


# --- messages -----------------------------------------------------------------------------


def _locked(chat: Chat) -> Chat:
    """The chat re-read under its row lock (the transaction's write lock on SQLite)."""
    return (
        Chat.objects.select_for_update(of=("self",))
        .select_related("ticket", "ticket__owner", "visitor")
        .get(pk=chat.pk)
    )


def _claim_seq(chat: Chat, now: datetime, *, visitor: bool) -> int:
    """Counts the chat's seq up and answers the new one. The UPDATE takes the chat's row
    lock (the database's write lock on SQLite) until the transaction ends, so seqs follow
    the commit order without gaps. An ended chat takes no more messages.

    One statement where the database returns rows from an UPDATE (PostgreSQL, SQLite 3.35
    and later); the chat's message group comes back with the seq because another process
    may have stored the chat's first line meanwhile."""
    seen = {"visitor_last_seen": now} if visitor else {}
    if connection.features.can_return_columns_from_insert:
        row = _count_up_returning(chat, seen)
    else:
        claimed = Chat.objects.filter(pk=chat.pk).exclude(status=ChatStatus.ENDED).update(
            last_seq=F("last_seq") + 1, **seen)
        row = Chat.objects.filter(pk=chat.pk).values_list("last_seq", "group_id").first() \
            if claimed else None
    if row is None:
        raise ActionError(gettext("This chat has ended."), "conflict")
    chat.last_seq, group_id = row
    if group_id != chat.group_id:
        chat.group_id = group_id  # another process stored the chat's first line
    return chat.last_seq


def _count_up_returning(chat: Chat, seen: dict[str, datetime]) -> tuple[int, int] | None:
    """``UPDATE chat SET last_seq = last_seq + 1 … RETURNING last_seq, group_id`` unless
    the chat has ended."""
    with connection.cursor() as cursor:
        cursor.execute(_count_up_sql(connection.vendor, tuple(seen)), [
            *(connection.ops.adapt_datetimefield_value(v) for v in seen.values()),
            chat.pk, ChatStatus.ENDED])
        return cursor.fetchone()


@functools.cache
def _count_up_sql(vendor: str, assigned: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    column = {field.name: quote(f"{field.column}") for field in Chat._meta.concrete_fields}
    assignments = [f"{column['last_seq']} = {column['last_seq']} + 1",
                   *(f"{column[name]} = %s" for name in assigned)]
    return (f"UPDATE {quote(Chat._meta.db_table)} SET {', '.join(assignments)} "
            f"WHERE {column['id']} = %s AND {column['status']} <> %s "
            f"RETURNING {column['last_seq']}, {column['group']}")


def _store(
    chat: Chat, kind: str, client_id: str, body: str, *, author: User | None = None,
    file: StoredFile | None = None, now: datetime | None = None,
    message_type: str = MessageType.MESSAGE,
) -> ChatMessage:
    """Stores one message with the chat's next seq, on the chat and on its ticket, and
    broadcasts it after commit. Call inside a transaction."""
    now = now or timezone.now()
    seq = _claim_seq(chat, now, visitor=kind == MessageKind.VISITOR)
    author_on_ticket: User | Contact | None = author
    if kind == MessageKind.VISITOR:
        author_on_ticket = chat.ticket.owner
    group, line = ticket_actions.add_chat_line(
        chat.ticket, chat.group if chat.group_id else None, author_on_ticket, body,
        files=[file] if file is not None else [], message_type=message_type, now=now,
    )
    if chat.group_id != group.pk:
        Chat.objects.filter(pk=chat.pk).update(group=group)
    chat.group = group
    message = rows.insert(ChatMessage(
        account_id=chat.account_id, chat=chat, seq=seq, client_id=client_id, kind=kind,
        author=author, body=body, file=file, ticket_message=line, date=now,
    ))
    publish(queries.chat_group(chat), "chat.message", chat=chat.public_id,
            message=queries.message_payload(message, chat))
    return message


def _sent(chat: Chat, client_id: str) -> ChatMessage | None:
    return ChatMessage.objects.filter(chat=chat, client_id=client_id).select_related(
        "author", "file").first()


def post_message(
    chat: Chat, kind: str, client_id: object, body: object, *, author: User | None = None,
    file: StoredFile | None = None,
) -> tuple[ChatMessage, bool]:
    """Stores a visitor's or agent's message; a client id seen before in this chat answers
    the message stored then (``created`` False). An ended chat takes no more messages.

    The message is simply inserted: a repeat (a retry, even one racing its first attempt)
    meets the unique (chat, client id), its transaction — the seq with it — rolls back,
    and it answers the stored message. The hot path spends no query on looking first."""
    client_id = _clean_client_id(client_id)
    text = _clean_body(body, allow_empty=file is not None)
    try:
        with transaction.atomic():
            return _store(chat, kind, client_id, text, author=author, file=file), True
    except (IntegrityError, ActionError) as error:
        # The unique client id refused a repeat: answer what was stored the first time (an
        # ended chat still answers a retry of a message it took).
        if (sent := _sent(chat, client_id)) is None:
            raise error from None
        return sent, False


def post_visitor_message(
    chat: Chat, client_id: object, body: object, *, file: StoredFile | None = None
) -> tuple[ChatMessage, bool]:
    return post_message(chat, MessageKind.VISITOR, client_id, body, file=file)


def post_agent_message(
    chat: Chat, user: User, client_id: object, body: object, *, file: StoredFile | None = None
) -> tuple[ChatMessage, bool]:
    """An agent's message: only the chat's agent and agents who joined it may write."""
    if chat.status != ChatStatus.CHATTING or not queries.is_member(chat, user):
        # A retry after the chat ended or moved on still gets its stored message back.
        sent = ChatMessage.objects.filter(chat=chat, client_id=client_id, author=user).first()
        if sent is not None:
            return sent, False
        raise ActionError(gettext("You are not in this chat."), "conflict")
    return post_message(chat, MessageKind.AGENT, client_id, body, author=user, file=file)


def _system_line(chat: Chat, text: str, *, now: datetime | None = None) -> ChatMessage:
    """A line both sides see (joined, transferred, ended), in the account's language."""
    now = now or timezone.now()
    client_id = f"system-{chat.last_seq + 1}"
    return _store(chat, MessageKind.SYSTEM, client_id, text, now=now,
                  message_type=MessageType.SYSTEM_PUBLIC)


def upload_file(
    chat: Chat, name: str, content: Any, *, kind: str, client_id: object,
    author: User | None = None,
) -> tuple[ChatMessage, bool]:
    """A file sent in a chat (the account's file storage, size limit and type sniffing of
    the ticket's files); only types a browser shows without running anything, documents and
    plain text are taken."""
    client_id = _clean_client_id(client_id)
    sent = ChatMessage.objects.filter(chat=chat, client_id=client_id).first()
    if sent is not None:
        return sent, False
    if chat.status == ChatStatus.ENDED:
        raise ActionError(gettext("This chat has ended."), "conflict")
    with transaction.atomic():
        stored = ticket_actions.store_file(chat.account, name, content, actor=author)
        if not _allowed_upload(stored.content_type):
            raise ActionError(gettext("Files of this type cannot be sent in a chat."),
                              "invalid")
        return post_message(chat, kind, client_id, "", author=author, file=stored)


ALLOWED_UPLOAD_PREFIXES = ("image/png", "image/jpeg", "image/gif", "image/webp",
                           "application/pdf", "text/plain", "application/vnd.openxmlformats",
                           "application/vnd.oasis.opendocument")


def _allowed_upload(content_type: str) -> bool:
    return content_type.startswith(ALLOWED_UPLOAD_PREFIXES)


def mark_read(chat: Chat, side: str, seq: object) -> None:
    """The visitor (``side`` visitor) or an agent has read up to ``seq``."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ActionError(gettext("seq must be a whole number."))
    field = "visitor_read_seq" if side == MessageKind.VISITOR else "agent_read_seq"
    with transaction.atomic():
        locked = _locked(chat)
        seq = min(seq, locked.last_seq)
        if seq <= getattr(locked, field):
            return
        setattr(locked, field, seq)
        update = [field]
        if side == MessageKind.VISITOR:
            locked.visitor_last_seen = timezone.now()
            update.append("visitor_last_seen")
        locked.save(update_fields=update)
        publish(queries.chat_group(locked), "chat.read", chat=locked.public_id, side=side,
                seq=seq)


def visitor_seen(chat: Chat) -> None:
    """The visitor's socket or poll showed life (for ending chats the visitor left)."""
    Chat.objects.filter(pk=chat.pk).update(visitor_last_seen=timezone.now())


# --- rings --------------------------------------------------------------------------------


def _open_ring(chat: Chat, user: User) -> Ring | None:
    return Ring.objects.filter(
        chat=chat, user=user, outcome=RingOutcome.RINGING
    ).select_related("requested_by").order_by("-started").first()


def accept_ring(chat: Chat, user: User) -> Chat:
    """The agent takes the chat they are rung for: a new chat (the first to accept gets it,
    if they have room), a transfer (the chat becomes theirs) or an invitation (they join)."""
    now = timezone.now()
    with transaction.atomic():
        chat = _locked(chat)
        ring = _open_ring(chat, user)
        if ring is None or chat.status == ChatStatus.ENDED:
            raise ActionError(gettext("This chat is no longer ringing for you."), "conflict")
        if ring.purpose == RingPurpose.ROUTE:
            _take(chat, user, ring, now)
        elif ring.purpose == RingPurpose.TRANSFER:
            _take_over(chat, user, ring, now)
        else:
            _join(chat, user, ring, now)
    return chat


def _take(chat: Chat, user: User, ring: Ring, now: datetime) -> None:
    if chat.status not in queries.WAITING:
        raise ActionError(gettext("Another agent took this chat."), "conflict")
    availability = queries.agent_availability(user)
    settings_ = queries.chat_settings(chat.account)
    running = queries.active_chat_counts([user.pk]).get(user.pk, 0)
    if running >= queries.max_chats(availability, settings_):
        raise ActionError(gettext("You have as many chats as you take at once."), "conflict")
    ring.outcome = RingOutcome.ACCEPTED
    ring.save(update_fields=["outcome"])
    others = list(Ring.objects.filter(chat=chat, outcome=RingOutcome.RINGING,
                                      purpose=RingPurpose.ROUTE).select_related("chat"))
    dispatch.cancel_rings(others, RingOutcome.CANCELLED, "accepted")
    chat.agent = user
    chat.status = ChatStatus.CHATTING
    chat.date_accepted = now
    chat.save(update_fields=["agent", "status", "date_accepted"])
    AgentAvailability.objects.filter(user=user).update(last_assigned=now)
    ticket_actions.assign_ticket(chat.ticket, user, actor=user)
    with translation.override(chat.language or chat.account.language):
        _system_line(chat, gettext("%(name)s joined the chat.") % {"name": user.full_name},
                     now=now)
    # Every tab of the agent who took it (one of which accepted).
    _publish_assigned(chat, user)
    publish(queries.agent_group(str(chat.account_id), user.pk), "chat.ring_cancelled",
            chat=chat.public_id, reason="accepted")
    _publish_state(chat)
    _publish_queue(chat.department)


def _take_over(chat: Chat, user: User, ring: Ring, now: datetime) -> None:
    if chat.status != ChatStatus.CHATTING:
        raise ActionError(gettext("This chat is no longer running."), "conflict")
    previous = chat.agent
    ring.outcome = RingOutcome.ACCEPTED
    ring.save(update_fields=["outcome"])
    others = list(Ring.objects.filter(chat=chat, outcome=RingOutcome.RINGING,
                                      purpose=RingPurpose.TRANSFER).select_related("chat"))
    dispatch.cancel_rings(others, RingOutcome.CANCELLED, "accepted")
    if ring.department is not None and ring.department_id != chat.department_id:
        chat.department = ring.department
        ticket_actions.change_department(chat.ticket, ring.department, actor=ring.requested_by)
    chat.agent = user
    chat.save(update_fields=["agent", "department"])
    ChatParticipant.objects.filter(chat=chat, user=user).update(left=now)
    AgentAvailability.objects.filter(user=user).update(last_assigned=now)
    ticket_actions.assign_ticket(chat.ticket, user, actor=ring.requested_by)
    with translation.override(chat.language or chat.account.language):
        _system_line(chat, gettext("The chat was transferred to %(name)s.")
                     % {"name": user.full_name}, now=now)
    _publish_assigned(chat, user)
    if previous is not None and previous.pk != user.pk:
        publish(queries.agent_group(str(chat.account_id), previous.pk), "chat.unassigned",
                chat=chat.public_id, reason="transferred")
        _publish_agent_state(previous)
    _publish_state(chat)


def _join(chat: Chat, user: User, ring: Ring, now: datetime) -> None:
    if chat.status != ChatStatus.CHATTING:
        raise ActionError(gettext("This chat is no longer running."), "conflict")
    ring.outcome = RingOutcome.ACCEPTED
    ring.save(update_fields=["outcome"])
    participant, created = ChatParticipant.objects.get_or_create(
        chat=chat, user=user, defaults={"account_id": chat.account_id, "joined": now}
    )
    if not created:
        participant.left = None
        participant.joined = now
        participant.save(update_fields=["left", "joined"])
    with translation.override(chat.language or chat.account.language):
        _system_line(chat, gettext("%(name)s joined the chat.") % {"name": user.full_name},
                     now=now)
    _publish_assigned(chat, user)
    _publish_state(chat)


def decline_ring(chat: Chat, user: User) -> None:
    """The agent declines; a new chat moves on to the next agent, a transfer or invitation
    that nobody else is rung for fails and its requester hears so."""
    with transaction.atomic():
        chat = _locked(chat)
        ring = _open_ring(chat, user)
        if ring is None:
            return
        _end_ring(ring, RingOutcome.DECLINED, "declined")


def _end_ring(ring: Ring, outcome: str, reason: str, now: datetime | None = None) -> None:
    """A ring that was declined or ran out: tell its agent, then move the chat on."""
    chat = ring.chat
    dispatch.cancel_rings([ring], outcome, reason)
    if ring.purpose == RingPurpose.ROUTE:
        dispatch.route(chat, now)
    elif ring.requested_by_id is not None and not Ring.objects.filter(
        chat=chat, purpose=ring.purpose, outcome=RingOutcome.RINGING
    ).exists():
        publish(queries.agent_group(str(chat.account_id), ring.requested_by_id),
                "chat.transfer_failed", chat=chat.public_id, purpose=ring.purpose,
                reason=reason)


def transfer_chat(
    chat: Chat, user: User, *, agent: User | None = None, department: Department | None = None,
) -> list[Ring]:
    """Rings ``agent``, or the available agents of ``department`` (by the routing method's
    order, all at once), to take over the chat; it stays with ``user`` until one accepts."""
    if (agent is None) == (department is None):
        raise ActionError(gettext("Transfer to one agent or to one department."))
    now = timezone.now()
    with transaction.atomic():
        chat = _locked(chat)
        if chat.status != ChatStatus.CHATTING or chat.agent_id != user.pk:
            raise ActionError(gettext("Only the chat's agent can transfer it."), "conflict")
        if agent is not None:
            if agent.account_id != chat.account_id or not agent.is_active or agent.pk == user.pk:
                raise ActionError(gettext("Unknown agent."))
            targets = [agent]
        else:
            assert department is not None
            if department.account_id != chat.account_id:
                raise ActionError(gettext("Unknown department."))
            found = dispatch.candidates(department, now, {user.pk})
            targets = [c.user for c in dispatch.order(found, queries.chat_settings(chat.account))]
            if not targets:
                raise ActionError(gettext("Nobody in that department can take a chat now."),
                                  "conflict")
        return _ring_for(chat, targets, RingPurpose.TRANSFER, user, now, department)


def invite_agent(chat: Chat, user: User, agent: User) -> Ring:
    """Rings another agent to join the chat beside its agent."""
    now = timezone.now()
    with transaction.atomic():
        chat = _locked(chat)
        if chat.status != ChatStatus.CHATTING or not queries.is_member(chat, user):
            raise ActionError(gettext("You are not in this chat."), "conflict")
        if (agent.account_id != chat.account_id or not agent.is_active
                or queries.is_member(chat, agent)):
            raise ActionError(gettext("Unknown agent, or in the chat already."))
        return _ring_for(chat, [agent], RingPurpose.INVITE, user, now)[0]


def _ring_for(
    chat: Chat, users: list[User], purpose: str, requested_by: User, now: datetime,
    department: Department | None = None,
) -> list[Ring]:
    settings_ = queries.chat_settings(chat.account)
    stale = list(Ring.objects.filter(chat=chat, purpose=purpose, outcome=RingOutcome.RINGING,
                                     user__in=users).select_related("chat"))
    dispatch.cancel_rings(stale, RingOutcome.CANCELLED, "replaced")
    rings = []
    for target in users:
        ring = Ring.objects.create(
            account_id=chat.account_id, chat=chat, user=target, started=now,
            expires=now + timedelta(seconds=settings_.ring_seconds), purpose=purpose,
            requested_by=requested_by, department=department,
        )
        dispatch.announce_ring(ring)
        rings.append(ring)
    return rings


def leave_chat(chat: Chat, user: User) -> None:
    """An invited agent leaves; the chat goes on with its agent."""
    now = timezone.now()
    with transaction.atomic():
        chat = _locked(chat)
        left = ChatParticipant.objects.filter(chat=chat, user=user, left__isnull=True).update(
            left=now)
        if not left:
            raise ActionError(gettext("You have not joined this chat."), "conflict")
        with translation.override(chat.language or chat.account.language):
            _system_line(chat, gettext("%(name)s left the chat.") % {"name": user.full_name},
                         now=now)
        publish(queries.agent_group(str(chat.account_id), user.pk), "chat.unassigned",
                chat=chat.public_id, reason="left")
        _publish_state(chat)


# --- ending -------------------------------------------------------------------------------


END_REASONS = ("visitor", "agent", "timeout", "idle")


def end_chat(chat: Chat, *, by: str, user: User | None = None,
             now: datetime | None = None) -> Chat:
    """Ends a chat (idempotent): rings stop, the ticket keeps the transcript and leaves
    status T — answered (A) when an agent wrote, else new (N) for someone to answer by
    e-mail. ``timeout`` (nobody answered within the wait limit) offers the visitor the
    offline form."""
    if by not in END_REASONS:
        raise ActionError(gettext("Unknown reason."))
    now = now or timezone.now()
    with transaction.atomic():
        chat = _locked(chat)
        if chat.status == ChatStatus.ENDED:
            return chat
        if by == "agent" and (user is None or not queries.is_member(chat, user)):
            raise ActionError(gettext("You are not in this chat."), "conflict")
        had_agent = chat.agent
        rings = list(Ring.objects.filter(chat=chat, outcome=RingOutcome.RINGING)
                     .select_related("chat"))
        dispatch.cancel_rings(rings, RingOutcome.CANCELLED, "ended")
        with translation.override(chat.language or chat.account.language):
            _system_line(chat, _end_text(by, user), now=now)
        chat.status = ChatStatus.ENDED
        chat.date_ended = now
        chat.went_offline = by == "timeout"
        chat.end_reason = by
        chat.save(update_fields=["status", "date_ended", "went_offline", "end_reason"])
        ChatParticipant.objects.filter(chat=chat, left__isnull=True).update(left=now)
        ticket = Ticket.objects.get(pk=chat.ticket_id)
        # An invitation's opening words do not answer anybody: only a taken chat can be.
        answered = chat.date_accepted is not None and ChatMessage.objects.filter(
            chat=chat, kind=MessageKind.AGENT, date__gte=chat.date_accepted).exists()
        ticket_actions.change_status(ticket, Status.ANSWERED if answered else Status.NEW,
                                     actor=user)
        search_index.reindex_ticket(ticket)
        publish(queries.chat_group(chat), "chat.ended", chat=chat.public_id, reason=by,
                offline=chat.went_offline)
        _publish_state(chat)
        if had_agent is not None:
            _publish_agent_state(had_agent)
            _offer_waiting_chats(had_agent, now)
        _publish_queue(chat.department)
        audit.record(chat.account, "chat.ended", actor=user, target=ticket,
                     chat=chat.public_id, reason=by)
        webhooks.chat_ended(chat, by)
        visitor_actions.chat_ended(chat)
    return chat


def _end_text(by: str, user: User | None) -> str:
    if by == "agent" and user is not None:
        return gettext("%(name)s ended the chat.") % {"name": user.full_name}
    if by == "visitor":
        return gettext("The visitor ended the chat.")
    if by == "timeout":
        return gettext("Nobody could answer in time; the conversation continues by e-mail.")
    return gettext("The visitor left.")


def rate_chat(chat: Chat, rating: object, comment: object = "") -> Chat:
    """The visitor's rating (good or bad) with an optional comment; rating again replaces."""
    if rating not in Rating.values:
        raise ActionError(gettext("Rate the chat good or bad."))
    if not isinstance(comment, str) or len(comment) > MAX_FIELD * 5:
        raise ActionError(gettext("The comment must be text of at most 5000 characters."))
    with transaction.atomic():
        chat = _locked(chat)
        chat.rating = str(rating)
        chat.rating_comment = comment.strip()
        chat.save(update_fields=["rating", "rating_comment"])
        _publish_state(chat)
    return chat


def send_transcript(chat: Chat, email: object) -> None:
    """Mails the chat's transcript to the visitor (through the outbox)."""
    if not isinstance(email, str):
        raise ActionError(gettext("This is not an e-mail address."))
    try:
        validate_email(email.strip())
    except ValidationError as exc:
        raise ActionError(gettext("This is not an e-mail address.")) from exc
    messages = [queries.message_payload(m, chat) for m in queries.messages_after(chat, 0, 10_000)]
    with transaction.atomic():
        queue_email(
            email.strip(), "chat/email/transcript",
            {"chat": chat, "account": chat.account, "messages": messages,
             "ticket": chat.ticket},
            account=chat.account, language=chat.language or chat.account.language,
        )


def submit_offline(
    button: ChatButton, visitor: Visitor | None, data: object, *,
    identity: CustomerIdentity | None = None,
) -> Ticket:
    """The offline form: a message for the button's department. A visitor whose chat just
    went unanswered adds it to that chat's ticket; otherwise it opens a ticket."""
    fields = clean_fields(button.offline_fields, data, extra=("name", "email", "message"))
    message = fields.pop("message", "")
    if not message:
        raise ActionError(gettext("Please write your message."))
    if not fields.get("email") and not (visitor is not None and visitor.email):
        raise ActionError(gettext("Please give your e-mail address so that we can answer."))
    account = button.account
    with transaction.atomic():
        if visitor is not None:
            if identity is not None:
                apply_identity(visitor, identity)
            contact = _contact_for(account, visitor, fields)
            missed = Chat.objects.filter(
                visitor=visitor, button=button, went_offline=True,
                date_ended__gte=timezone.now() - timedelta(hours=1),
            ).select_related("ticket").order_by("-date_ended").first()
            if missed is not None and missed.ticket.status not in (Status.DELETED, Status.SPAM):
                ticket_actions.add_customer_message(missed.ticket, contact, message,
                                                    group_type=GroupType.OFFLINE)
                return missed.ticket
        else:
            contact, _created = contact_actions.find_or_create_contact_by_email(
                account, fields["email"], name=fields.get("name", "")
            )
        labels = {f["name"]: _label(f) for f in button.offline_fields}
        extra = [f"{labels.get(k, k)}: {v}" for k, v in fields.items() if k not in ("email",)]
        body = "\n".join([message, "", *extra]) if extra else message
        return ticket_actions.open_ticket(
            account, "", body, contact, channel_type=ChannelType.CHAT_BUTTON,
            department=button.department, group_type=GroupType.OFFLINE,
        )


# --- time ---------------------------------------------------------------------------------


def expire_ring(ring_id: int, now: datetime | None = None) -> None:
    """A ring's time has come (its delayed task, or the sweep): it is missed and the chat
    moves on. Idempotent."""
    now = now or timezone.now()
    ring = Ring.objects.filter(pk=ring_id).select_related("chat").first()
    if ring is None:
        return
    with transaction.atomic():
        _locked(ring.chat)
        ring = Ring.objects.select_related("chat", "chat__department", "chat__account").get(
            pk=ring_id)
        if ring.outcome != RingOutcome.RINGING or ring.expires > now:
            return
        _end_ring(ring, RingOutcome.MISSED, "timeout", now)


def check_chat_timers(chat: Chat, now: datetime | None = None) -> None:
    """Moves one chat on with time: its rings that ran out, and the wait limit (→ ended,
    offline form). The visitor's polls call it, so a late timer task delays nothing."""
    now = now or timezone.now()
    for ring_id in Ring.objects.filter(
        chat=chat, outcome=RingOutcome.RINGING, expires__lte=now
    ).values_list("pk", flat=True):
        expire_ring(ring_id, now)
    limit = timedelta(seconds=queries.chat_settings(chat.account).wait_limit)
    if chat.status in queries.WAITING and chat.date_queued <= now - limit:
        end_chat(chat, by="timeout", now=now)


def sweep(account: Account, now: datetime | None = None) -> None:
    """Moves the account's chats on with time: rings that ran out, chats past the wait
    limit (→ offline), chats whose visitor left, and chats waiting for an agent who became
    available meanwhile. Safe to run any time and twice."""
    now = now or timezone.now()
    due = set(Ring.objects.filter(outcome=RingOutcome.RINGING, expires__lte=now)
              .values_list("chat_id", flat=True))
    settings_ = queries.chat_settings(account)
    due |= set(Chat.objects.filter(
        status__in=queries.WAITING, date_queued__lte=now - timedelta(seconds=settings_.wait_limit)
    ).values_list("pk", flat=True))
    for chat in Chat.objects.filter(pk__in=due).select_related("account"):
        check_chat_timers(chat, now)
    for chat in Chat.objects.filter(status__in=(*queries.WAITING, ChatStatus.CHATTING),
                                    visitor_last_seen__lte=now - VISITOR_IDLE):
        end_chat(chat, by="idle", now=now)
    for department in Department.objects.filter(chats__status=ChatStatus.QUEUED).distinct():
        with transaction.atomic():
            dispatch.route_department(department, now)


# --- events -------------------------------------------------------------------------------


def _publish_assigned(chat: Chat, user: User) -> None:
    publish(queries.agent_group(str(chat.account_id), user.pk), "chat.assigned",
            chat=queries.chat_summary(chat))
    _publish_agent_state(user)


def _publish_state(chat: Chat) -> None:
    """The chat's state to its visitor and the summary to its agents."""
    publish(queries.chat_group(chat), "chat.state", chat=chat.public_id,
            state=queries.visitor_state(chat), summary=queries.chat_summary(chat))


def _publish_queue(department: Department) -> None:
    """Queue positions move for everyone waiting behind a chat that left the queue."""
    for waiting in Chat.objects.filter(department=department, status__in=queries.WAITING
                                       ).select_related(*queries.SUMMARY_RELATED):
        publish(queries.chat_group(waiting), "chat.state", chat=waiting.public_id,
                state=queries.visitor_state(waiting), summary=queries.chat_summary(waiting))

