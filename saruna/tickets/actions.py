"""Every write to tickets, messages, files, departments, tags, canned messages and predefined
answers. One transaction each; bad input raises :class:`ActionError` and changes nothing.

Every ticket change writes :class:`TicketEvent` rows (who, field, old → new, when), keeps the
:class:`TicketHistory` periods (department, agent and status) contiguous, and is published
after commit to the account's inbox group and the ticket's own group.

Status transitions (LiveAgent's letters, API §4):

=============================  ===========================  ==================================
what happens                   from                         to
=============================  ===========================  ==================================
customer opens a ticket        —                            N (a given ``status``; I means N)
agent opens a ticket           —                            A (outgoing; a given ``status``)
customer writes                A R W L                      C, or N if no agent ever answered
customer writes                N C I T P                    unchanged
customer writes                X B                          refused: the channel opens a new one
agent replies                  N C A R W L I                A, or the ``status`` asked for
agent replies                  T P                          unchanged (reply in a running chat)
internal note                  all but X B                  unchanged
change_status                  any                          N C A R L B X; the same = no-op;
                                                            I T P are set by channels only
postpone_ticket(until)         all but X B                  W until ``until`` (in the future)
postponed time passes (task)   W                            C
undelete_ticket                X B                          the status before delete/spam
merge_tickets                  sources                      X, ``merged_into`` the target
split_message                  —                            new ticket: N (customer's message)
                                                            or A (agent's)
=============================  ===========================  ==================================

Leaving W clears ``postponed_until``; R sets ``date_resolved`` (cleared on reopening; L keeps
it); X sets ``date_deleted``. Resolve, postpone, delete, spam and transfers also add a system
message group (types R J X B T) so the conversation shows them.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from hashlib import sha256
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.contacts.common import ActionError, fresh_value, save_record, validate
from saruna.contacts.models import Contact, CustomField
from saruna.core import audit, rows
from saruna.core.ids import new_code
from saruna.core.models import Account
from saruna.realtime.bus import group_name, publish
from saruna.search import index as search_index
from saruna.sla import tracking as sla_tracking
from saruna.tickets import queries, signals
from saruna.tickets.counts import bump_inbox_version
from saruna.tickets.files import max_attachment_bytes, sniff_content_type
from saruna.tickets.html import html_to_text, sanitize_html
from saruna.tickets.models import (
    DEFAULT_DEPARTMENT_ID,
    INTERNAL_GROUP_TYPES,
    CannedMessage,
    ChannelType,
    Department,
    GroupStatus,
    GroupType,
    Message,
    MessageFormat,
    MessageGroup,
    MessageType,
    PredefinedAnswer,
    Priority,
    Status,
    StoredFile,
    Tag,
    Ticket,
    TicketEvent,
    TicketHistory,
    Visibility,
)
from saruna.webhooks import actions as webhooks

__all__ = ["ActionError"]  # raised by every action here

Actor = User | Contact | None

DEFAULT_POSTPONE = timedelta(hours=24)
# Statuses a ticket cannot receive messages or be postponed in.
CLOSED_TO_MESSAGES = frozenset({Status.DELETED, Status.SPAM})
SETTABLE_STATUSES = frozenset(
    {Status.NEW, Status.OPEN, Status.ANSWERED, Status.RESOLVED, Status.CLOSED,
     Status.POSTPONED, Status.SPAM, Status.DELETED}
)
# Groups that carry no conversation of their own (markers and status notices).
SYSTEM_GROUP_TYPES = frozenset({
    GroupType.TRANSFER, GroupType.POSTPONE, GroupType.DELETE, GroupType.SPAM, GroupType.TAG,
    GroupType.RESOLVE, GroupType.SPLITTED, GroupType.MERGED, GroupType.STARTINFO,
})
_STATUS_GROUPS: dict[str, str] = {
    Status.RESOLVED: GroupType.RESOLVE,
    Status.POSTPONED: GroupType.POSTPONE,
    Status.DELETED: GroupType.DELETE,
    Status.SPAM: GroupType.SPAM,
}
# Fields whose change is not an event of its own (they follow the status).
_UNTRACKED = frozenset({"date_resolved", "date_deleted", "previous_status"})


# --- departments, tags, canned messages, predefined answers ---------------------------------


def default_department(account: Account) -> Department:
    """The account's ``default`` department, created on first use (safe when two requests
    ask at once)."""
    found = Department.objects.filter(account=account, public_id=DEFAULT_DEPARTMENT_ID).first()
    if found is not None:
        return found
    with translation.override(account.language):
        name = gettext("Default")
    if Department.objects.filter(account=account, name__iexact=name).exists():
        name = f"{name} ({DEFAULT_DEPARTMENT_ID})"  # an agent-made "Default" keeps its name
    try:
        with transaction.atomic():
            return Department.objects.create(
                account=account, public_id=DEFAULT_DEPARTMENT_ID, name=name
            )
    except IntegrityError:
        return Department.objects.get(account=account, public_id=DEFAULT_DEPARTMENT_ID)


def save_department(
    account: Account, department: Department | None = None, *, actor: User | None = None,
    **fields: Any,
) -> Department:
    """Creates or renames a department; ``agents`` (users) replaces its members."""
    with transaction.atomic():
        department = save_record(
            Department, account, department, fields, ("name",),
            conflict=gettext("This department exists already."),
        )
        if "agents" in fields:
            agents = list(fields["agents"] or [])
            if any(a.account_id != account.pk for a in agents):
                raise ActionError(gettext("Unknown agent."))
            department.agents.set(agents)
            audit.record(
                account, "department.agents_changed", actor=actor, target=department,
                agents=sorted(str(a.pk) for a in agents),
            )
    return department


def delete_department(department: Department, *, actor: User | None = None) -> None:
    """Its tickets move to the default department, which itself cannot be deleted."""
    if department.public_id == DEFAULT_DEPARTMENT_ID:
        raise ActionError(gettext("The default department cannot be deleted."))
    with transaction.atomic():
        fallback = default_department(department.account)
        for ticket in Ticket.objects.filter(department=department):
            change_department(ticket, fallback, actor=actor)
        audit.record(department.account, "department.deleted", actor=actor, target=department)
        department.delete()


def save_tag(account: Account, tag: Tag | None = None, **fields: Any) -> Tag:
    return save_record(
        Tag, account, tag, fields,
        ("name", "color", "background_color", "is_public", "is_archived"),
        conflict=gettext("A tag with this name exists already."),
    )


def save_canned_message(
    account: Account, canned: CannedMessage | None = None, **fields: Any
) -> CannedMessage:
    if "messagetext" in fields and not str(fields["messagetext"] or "").strip():
        raise ActionError(gettext("The message cannot be empty."))
    return save_record(
        CannedMessage, account, canned, fields, ("user", "department", "messagetext", "keywords"),
        conflict=gettext("This canned message exists already."),
    )


def save_predefined_answer(
    account: Account, answer: PredefinedAnswer | None = None, **fields: Any
) -> PredefinedAnswer:
    if fields.get("format") == MessageFormat.HTML and fields.get("body"):
        fields = {**fields, "body": sanitize_html(fields["body"])}
    return save_record(
        PredefinedAnswer, account, answer, fields,
        ("user", "department", "name", "subject", "body", "format"),
        conflict=gettext("This predefined answer exists already."),
    )


# --- files ---------------------------------------------------------------------------------


def store_file(
    account: Account, name: str, content: bytes | IO[bytes], *, actor: User | None = None
) -> StoredFile:
    """Stores an upload under ``MEDIA_ROOT/<account>/files/<aa>/<id>`` with its sniffed type,
    size and SHA-256. Larger than ``SARUNA_MAX_ATTACHMENT_BYTES`` → ``too_large``."""
    limit = max_attachment_bytes()
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    digest, size = sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ActionError(
                    gettext("The file is larger than %(mb)d MB.") % {"mb": limit // 2**20},
                    "too_large",
                )
            digest.update(chunk)
            spool.write(chunk)
        stored = StoredFile(
            account=account, name=_safe_filename(name), size=size, sha256=digest.hexdigest(),
            content_type=sniff_content_type(spool), uploaded_by=actor,
        )
        stored.public_id = fresh_value(StoredFile, account.pk, "public_id", stored.make_public_id)
        stored.file.save(stored.public_id, File(spool), save=False)
    stored.save()
    return stored


def _safe_filename(name: str) -> str:
    """The last path component without control characters (names are shown and sent in
    ``Content-Disposition``)."""
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[:255] or "file"


def purge_unattached_files(older_than: datetime) -> int:
    """Uploads of the active scope's account never attached to a message (API §18 keeps them
    24 hours) leave storage and database. Idempotent."""
    count = 0
    for stored in StoredFile.objects.filter(message__isnull=True, date_created__lt=older_than):
        stored.file.delete(save=False)
        stored.delete()
        count += 1
    return count


def attach_file(group: MessageGroup, stored: StoredFile, *, actor: Actor = None) -> Message:
    """Adds a file message (type F, or L on an internal note) describing ``stored`` to the
    group; its JSON body follows API §6.11."""
    if stored.message_id is not None or stored.account_id != group.account_id:
        raise ActionError(gettext("This file is attached already."), "conflict")
    internal = group.type == GroupType.INTERNAL
    account = group.ticket.account
    body = json.dumps([
        ["key", "value"],
        ["id", stored.public_id],
        ["name", stored.name],
        ["type", stored.content_type],
        ["size", str(stored.size)],
        ["view_url", f"/files/{stored.public_id}/view"],
        ["download_url", f"//{account.host}/files/{stored.public_id}/download"],
    ])
    with transaction.atomic():
        message = Message.objects.create(
            account_id=group.account_id, group=group,
            type=MessageType.NOTE_FILE if internal else MessageType.FILE,
            format=MessageFormat.JSON, body=body, text=stored.name,
            visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
            datecreated=group.datecreated, **_author(actor),
        )
        stored.message = message
        stored.save(update_fields=["message"])
        search_index.reindex_ticket(group.ticket)
    return message


# --- opening tickets and adding messages ----------------------------------------------------


def open_ticket(
    account: Account,
    subject: str,
    body: str,
    contact: Contact,
    channel_type: str = ChannelType.EMAIL,
    department: Department | None = None,
    actor: User | None = None,
    *,
    format: str = MessageFormat.TEXT,
    status: str | None = None,
    agent: User | None = None,
    tags: Iterable[Tag] = (),
    custom_fields: Mapping[str, Any] | None = None,
    priority: int = Priority.NORMAL,
    files: Iterable[StoredFile] = (),
    group_type: str | None = None,
    mail_msg_id: str = "",
    quoted: str = "",
    date_created: datetime | None = None,
    mail: signals.MailOptions = signals.DEFAULT_MAIL,
) -> Ticket:
    """A new ticket owned by ``contact`` with its first message group. With an agent as
    ``actor`` it is an outgoing ticket (first group type 4, status A); otherwise the contact
    wrote it (type by channel: 3 e-mail, C chat, 5 offline/form; status N). ``quoted`` is
    the history a mail quoted below its text (a QUOTED_TEXT message, shown collapsed)."""
    now = date_created or timezone.now()
    tags = list(tags)
    outgoing = actor is not None
    if group_type is None:
        group_type = GroupType.OUTGOING_EMAIL if outgoing else _customer_group_type(channel_type)
    if status in (None, Status.INIT):
        status = Status.ANSWERED if outgoing else Status.NEW
    if status not in Status.values or status == Status.CLOSED:
        raise ActionError(gettext("Invalid status: %(s)s") % {"s": status})
    if agent is not None and agent.account_id != account.pk:
        raise ActionError(gettext("Unknown agent."))
    with transaction.atomic():
        ticket = _create_ticket(
            account, subject=(subject.strip() or _subject_from(body, format))[:500], owner=contact,
            department=department or default_department(account), agent=agent,
            channel_type=channel_type, status=status, priority=priority, actor=actor, now=now,
            postponed_until=now + DEFAULT_POSTPONE if status == Status.POSTPONED else None,
            date_resolved=now if status == Status.RESOLVED else None,
            date_deleted=now if status == Status.DELETED else None,
        )
        if custom_fields:
            ticket.custom_fields = CustomField.merge_values(
                CustomField.Target.TICKET, {}, custom_fields
            )
            ticket.save(update_fields=["custom_fields"])
        _check_addable(ticket, tags)
        ticket.tags.set(tags)
        group = _add_group(
            ticket, group_type, actor if outgoing else contact, body, format, now,
            files=files, mail_msg_id=mail_msg_id, quoted=quoted,
        )
        sla_tracking.ticket_opened(ticket, by_agent=outgoing, now=now)
        search_index.reindex_ticket(ticket)
        if outgoing:  # an agent wrote first: the customer is told like after any reply
            signals.agent_replied.send(sender=MessageGroup, group=group, mail=mail)
        _publish(ticket, ["created"], group=group)
    return ticket


def add_chat_line(
    ticket: Ticket,
    group: MessageGroup | None,
    author: Actor,
    body: str,
    *,
    message_type: str = MessageType.MESSAGE,
    files: Iterable[StoredFile] = (),
    now: datetime | None = None,
) -> tuple[MessageGroup, Message]:
    """One line of a running chat, appended to the chat's CHAT group (``group`` None: the
    first line makes it), so a chat's transcript is one group. Unlike a reply it changes no
    status and neither reindexes nor publishes per line: the chat's own actions do that at
    its start and end. Answers the group and the line's first message."""
    _refuse_if_closed(ticket)
    now = now or timezone.now()
    files = list(files)
    # No savepoint inside the chat's own transaction: an error here fails the whole message
    # anyway, and a savepoint is two more statements on every line of every chat.
    with transaction.atomic(savepoint=False):
        if group is None:
            group = _add_group(ticket, GroupType.CHAT, author, body, MessageFormat.TEXT, now,
                               files=files, message_type=message_type)
            first = group.messages.order_by("pk").first()
        else:
            first = None
            if body.strip():  # a chat line per message of every chat: plain SQL (core.rows)
                first = rows.insert(Message(
                    account_id=ticket.account_id, group=group, type=message_type,
                    format=MessageFormat.TEXT, body=body, text=body, datecreated=now,
                    **_author(author),
                ))
            for stored in files:
                attached = attach_file(group, stored, actor=author)
                first = first or attached
            if first is None:
                raise ActionError(gettext("The message cannot be empty."))
            ticket.last_activity = ticket.last_activity_public = now
        rows.update(ticket, ("last_activity", "last_activity_public"))
    assert first is not None
    return group, first


def _customer_group_type(channel_type: str) -> str:
    if channel_type == ChannelType.EMAIL:
        return GroupType.INCOMING_EMAIL
    if channel_type in (ChannelType.CHAT_BUTTON, ChannelType.INVITATION):
        return GroupType.CHAT
    return GroupType.OFFLINE


def _subject_from(body: str, format: str) -> str:
    text = html_to_text(body) if format == MessageFormat.HTML else body
    first = text.strip().split("\n", 1)[0].strip()
    return first[:100] or gettext("(no subject)")


def _create_ticket(
    account: Account, *, actor: Actor, now: datetime, **fields: Any
) -> Ticket:
    ticket = Ticket(
        account=account, date_created=now, date_changed=now, last_activity=now,
        last_activity_public=now, **fields,
    )
    ticket.code = fresh_value(Ticket, account.pk, "code", new_code)
    validate(ticket, exclude=["public_id", "code", "public_access_urlcode", "owner", "agent",
                              "department", "merged_into"])
    ticket.save()
    TicketHistory.objects.create(
        account=account, ticket=ticket, department=ticket.department, agent=ticket.agent,
        status=ticket.status, date_from=now,
    )
    TicketEvent.objects.create(
        account=account, ticket=ticket, field="created", new_value=ticket.status, at=now,
        **_author(actor, "actor"),
    )
    return ticket


def add_customer_message(
    ticket: Ticket,
    contact: Contact,
    body: str,
    *,
    format: str = MessageFormat.TEXT,
    group_type: str | None = None,
    files: Iterable[StoredFile] = (),
    mail_msg_id: str = "",
    quoted: str = "",
    parent: MessageGroup | None = None,
    date_created: datetime | None = None,
) -> MessageGroup:
    """A message from the customer; reopens the ticket (see the table above). ``quoted`` as
    in :func:`open_ticket`."""
    _refuse_if_closed(ticket)
    now = date_created or timezone.now()
    with transaction.atomic():
        group = _add_group(
            ticket, group_type or _customer_group_type(ticket.channel_type), contact, body,
            format, now, files=files, mail_msg_id=mail_msg_id, quoted=quoted, parent=parent,
        )
        changes: dict[str, Any] = {}
        if ticket.status in (Status.ANSWERED, Status.RESOLVED, Status.POSTPONED, Status.CLOSED):
            answered = ticket.groups.filter(author_user__isnull=False).exclude(
                type__in=INTERNAL_GROUP_TYPES
            ).exists()
            changes = _status_changes(ticket, Status.OPEN if answered else Status.NEW, now)
        changed = _change(ticket, contact, now, changes)
        sla_tracking.customer_wrote(ticket, now)
        search_index.reindex_ticket(ticket)
        _publish(ticket, changed, group=group)
    return group


def mail_options(cc: str | None = None, bcc: str | None = None,
                 use_template: bool = True) -> signals.MailOptions:
    """Comma-separated copy addresses as typed, checked: a bad one is an ActionError naming
    it, and nothing is sent."""

    def addresses(text: str | None, name: str) -> tuple[str, ...]:
        found: list[str] = []
        for address in (text or "").replace(";", ",").split(","):
            address = address.strip()
            if not address:
                continue
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ActionError(gettext("%(field)s: %(address)s is not an e-mail address.")
                                  % {"field": name, "address": address[:100]}) from exc
            if address.lower() not in (f.lower() for f in found):
                found.append(address)
        return tuple(found)

    return signals.MailOptions(cc=addresses(cc, "Cc"), bcc=addresses(bcc, "Bcc"),
                               use_template=use_template)


def add_agent_reply(
    ticket: Ticket,
    agent: User,
    body: str,
    *,
    format: str = MessageFormat.HTML,
    status: str = Status.ANSWERED,
    postponed_until: datetime | None = None,
    group_type: str = GroupType.OUTGOING_EMAIL,
    files: Iterable[StoredFile] = (),
    mail_msg_id: str = "",
    parent: MessageGroup | None = None,
    date_created: datetime | None = None,
    subject: str = "",
    mail: signals.MailOptions = signals.DEFAULT_MAIL,
) -> MessageGroup:
    """An agent's answer to the customer (mailing it, as ``mail`` says, is the mail channel's
    job); the ticket becomes ``status`` (A by default) unless a chat or call is running. A
    ``subject`` other than the default is kept as the group's TITLE message
    (``queries.reply_subject``)."""
    _refuse_if_closed(ticket)
    now = date_created or timezone.now()
    # One line: it becomes a mail header.
    subject = " ".join(subject.split())
    with transaction.atomic():
        group = _add_group(
            ticket, group_type, agent, body, format, now, files=files,
            mail_msg_id=mail_msg_id, parent=parent,
        )
        if subject and subject != queries.default_reply_subject(ticket):
            Message.objects.create(
                account_id=ticket.account_id, group=group, type=MessageType.TITLE,
                format=MessageFormat.TEXT, body=subject, text=subject, datecreated=now,
                **_author(agent),
            )
        changes: dict[str, Any] = {}
        if ticket.status not in (Status.CHATTING, Status.CALLING):
            changes = _status_changes(ticket, status, now, postponed_until)
        changed = _change(ticket, agent, now, changes)
        sla_tracking.agent_answered(ticket, now)
        search_index.reindex_ticket(ticket)
        signals.agent_replied.send(sender=MessageGroup, group=group, mail=mail)
        _publish(ticket, changed, group=group)
    return group


def add_internal_note(
    ticket: Ticket,
    agent: User | None,
    body: str,
    *,
    format: str = MessageFormat.HTML,
    files: Iterable[StoredFile] = (),
) -> MessageGroup:
    """A note for agents only (group I, message N, files L); the status stays. ``agent``
    None: the system writes it (a channel reporting a bounce, say)."""
    _refuse_if_closed(ticket)
    now = timezone.now()
    with transaction.atomic():
        group = _add_group(ticket, GroupType.INTERNAL, agent, body, format, now, files=files)
        changed = _change(ticket, agent, now, {})
        search_index.reindex_ticket(ticket)
        _publish(ticket, changed, group=group)
    return group


def delete_message(message: Message, *, actor: Actor = None) -> None:
    """Removes one message (API §7); a group left without messages gets status D."""
    group = message.group
    now = timezone.now()
    with transaction.atomic():
        _event(group.ticket, actor, now, "message_deleted", message.pk, "")
        message.delete()
        if not group.messages.exists():
            group.status = GroupStatus.DELETED
            group.save(update_fields=["status"])
        changed = _change(group.ticket, actor, now, {})
        search_index.reindex_ticket(group.ticket)
        _publish(group.ticket, [*changed, "messages"])


def _refuse_if_closed(ticket: Ticket) -> None:
    if ticket.status in CLOSED_TO_MESSAGES:
        raise ActionError(
            gettext("The ticket is in the trash or marked as spam."), "conflict"
        )


def _add_group(
    ticket: Ticket,
    group_type: str,
    author: Actor,
    body: str,
    format: str,
    now: datetime,
    *,
    files: Iterable[StoredFile] = (),
    mail_msg_id: str = "",
    quoted: str = "",
    parent: MessageGroup | None = None,
    message_type: str | None = None,
) -> MessageGroup:
    files = list(files)
    if format not in MessageFormat.values:
        raise ActionError(gettext("Invalid message format: %(f)s") % {"f": format})
    if group_type not in GroupType.values:
        raise ActionError(gettext("Invalid message group type: %(t)s") % {"t": group_type})
    if format == MessageFormat.HTML:
        body = sanitize_html(body)
        text = html_to_text(body)
    else:
        text = body if format == MessageFormat.TEXT else ""
    if not text.strip() and not files and format != MessageFormat.JSON:
        raise ActionError(gettext("The message cannot be empty."))
    internal = group_type in INTERNAL_GROUP_TYPES
    group = MessageGroup.objects.create(
        account_id=ticket.account_id, ticket=ticket, parent=parent, type=group_type,
        datecreated=now, sort_order=_next_sort_order(ticket), mail_msg_id=mail_msg_id,
        **_author(author),
    )
    if body.strip():
        if message_type is None:
            message_type = MessageType.NOTE if group_type == GroupType.INTERNAL else (
                MessageType.MESSAGE
            )
        Message.objects.create(
            account_id=ticket.account_id, group=group, type=message_type, format=format,
            body=body, text=text, datecreated=now,
            visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
            **_author(author),
        )
    if quoted.strip():
        # Left out of search (text blank): the quoted messages are in the ticket already.
        Message.objects.create(
            account_id=ticket.account_id, group=group, type=MessageType.QUOTED_TEXT,
            format=format, body=sanitize_html(quoted) if format == MessageFormat.HTML else quoted,
            datecreated=now, visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
            **_author(author),
        )
    for stored in files:
        attach_file(group, stored, actor=author)
    ticket.last_activity = now
    if not internal:
        ticket.last_activity_public = now
    return group


def _next_sort_order(ticket: Ticket) -> int:
    top = MessageGroup.objects.filter(ticket=ticket).aggregate(top=Max("sort_order"))["top"]
    return 0 if top is None else top + 1


def _system_group(
    ticket: Ticket, group_type: str, actor: Actor, now: datetime, text: str,
    message_type: str = MessageType.STATUS,
) -> MessageGroup:
    return _add_group(ticket, group_type, actor, text, MessageFormat.TEXT, now,
                      message_type=message_type)


def _author(actor: Actor, prefix: str = "author") -> dict[str, Any]:
    if isinstance(actor, Contact):
        return {f"{prefix}_contact": actor}
    if actor is not None:
        return {f"{prefix}_user": actor}
    return {}


# --- changing tickets ------------------------------------------------------------------------


def update_ticket(ticket: Ticket, *, actor: Actor = None, **fields: Any) -> Ticket:
    """Partial update of ``subject``, ``owner``, ``priority``, ``date_due``, ``note`` and
    ``custom_fields`` (merged by code); other keys are ignored (API §6.4)."""
    now = timezone.now()
    changes: dict[str, Any] = {
        k: fields[k] for k in ("subject", "owner", "priority", "date_due", "note") if k in fields
    }
    if "subject" in changes and not str(changes["subject"] or "").strip():
        raise ActionError(gettext("The subject cannot be empty."))
    if "owner" in changes and (
        changes["owner"] is None or changes["owner"].account_id != ticket.account_id
    ):
        raise ActionError(gettext("Unknown contact."))
    if "priority" in changes and changes["priority"] not in Priority.values:
        raise ActionError(gettext("Invalid priority."))
    with transaction.atomic():
        changed = _change(ticket, actor, now, changes)
        if "custom_fields" in fields:
            old = ticket.custom_fields
            ticket.custom_fields = CustomField.merge_values(
                CustomField.Target.TICKET, old, fields["custom_fields"] or {}
            )
            for code in sorted(set(old) | set(ticket.custom_fields)):
                if old.get(code) != ticket.custom_fields.get(code):
                    _event(ticket, actor, now, f"custom_fields.{code}",
                           old.get(code, ""), ticket.custom_fields.get(code, ""))
                    changed.append(f"custom_fields.{code}")
            ticket.date_changed = now
            ticket.save()
        if {"subject", "owner"} & set(changed):
            search_index.reindex_ticket(ticket)
        _publish(ticket, changed)
    return ticket


def assign_ticket(ticket: Ticket, agent: User | None, *, actor: Actor = None) -> Ticket:
    """Assigns to ``agent`` (None unassigns)."""
    if agent is not None and (agent.account_id != ticket.account_id or not agent.is_active):
        raise ActionError(gettext("Unknown agent."))
    now = timezone.now()
    with transaction.atomic():
        changed = _change(ticket, actor, now, {"agent": agent})
        if changed:
            text = (
                gettext("Assigned to %(name)s") % {"name": agent.full_name}
                if agent is not None else gettext("Unassigned")
            )
            _system_group(ticket, GroupType.TRANSFER, actor, now, text, MessageType.TRANSFER)
            ticket.save(update_fields=["last_activity"])
        _publish(ticket, changed)
    return ticket


def change_department(ticket: Ticket, department: Department, *, actor: Actor = None) -> Ticket:
    if department.account_id != ticket.account_id:
        raise ActionError(gettext("Unknown department."))
    now = timezone.now()
    with transaction.atomic():
        changed = _change(ticket, actor, now, {"department": department})
        if changed:
            text = gettext("Moved to department %(name)s") % {"name": department.name}
            _system_group(ticket, GroupType.TRANSFER, actor, now, text, MessageType.TRANSFER)
            ticket.save(update_fields=["last_activity"])
        _publish(ticket, changed)
    return ticket


def set_tags(ticket: Ticket, tags: Iterable[Tag], *, actor: Actor = None) -> Ticket:
    """Replaces the ticket's tags. Archived tags it has already may stay; none may be added."""
    tags = list(dict.fromkeys(tags))
    _check_addable(ticket, tags)
    old = sorted(ticket.tags.values_list("public_id", flat=True))
    new = sorted(t.public_id for t in tags)
    if old == new:
        return ticket
    now = timezone.now()
    with transaction.atomic():
        ticket.tags.set(tags)
        _event(ticket, actor, now, "tags", ",".join(old), ",".join(new))
        ticket.date_changed = now
        ticket.save(update_fields=["date_changed"])
        _publish(ticket, ["tags"])
    return ticket


def add_tag(ticket: Ticket, tag: Tag, *, actor: Actor = None) -> Ticket:
    return set_tags(ticket, [*ticket.tags.all(), tag], actor=actor)


def remove_tag(ticket: Ticket, tag: Tag, *, actor: Actor = None) -> Ticket:
    return set_tags(ticket, [t for t in ticket.tags.all() if t.pk != tag.pk], actor=actor)


def _check_addable(ticket: Ticket, tags: Iterable[Tag]) -> None:
    current = set(ticket.tags.values_list("pk", flat=True)) if ticket.pk else set()
    for tag in tags:
        if tag.account_id != ticket.account_id:
            raise ActionError(gettext("Unknown tag."))
        if tag.is_archived and tag.pk not in current:
            raise ActionError(
                gettext("The tag %(name)s is archived and cannot be added.") % {"name": tag.name}
            )


def change_status(
    ticket: Ticket, status: str, *, actor: Actor = None, until: datetime | None = None
) -> Ticket:
    """Sets one of N C A R L W B X (see the table above). W without ``until`` postpones by
    24 hours; the current status again is a no-op."""
    if status == ticket.status and status != Status.POSTPONED:
        return ticket
    if status not in SETTABLE_STATUSES:
        raise ActionError(gettext("The status %(s)s cannot be set.") % {"s": status})
    if ticket.merged_into_id is not None:
        raise ActionError(gettext("This ticket was merged into another one."), "conflict")
    now = timezone.now()
    if status == Status.POSTPONED:
        if ticket.status in CLOSED_TO_MESSAGES:
            raise ActionError(
                gettext("A ticket in the trash or marked as spam cannot be postponed.")
            )
        until = until or now + DEFAULT_POSTPONE
        if until <= now:
            raise ActionError(gettext("The postpone time must be in the future."))
    was_closed = ticket.status in CLOSED_TO_MESSAGES
    with transaction.atomic():
        changed = _change(ticket, actor, now, _status_changes(ticket, status, now, until))
        if status in _STATUS_GROUPS and changed:
            _system_group(ticket, _STATUS_GROUPS[status], actor, now,
                          _status_text(ticket, status, until))
            ticket.save(update_fields=["last_activity"])
        verbs: dict[str, str] = {Status.DELETED: "ticket.deleted", Status.SPAM: "ticket.spam"}
        verb = verbs.get(status)
        if verb is None and was_closed:
            verb = "ticket.restored"
        if verb is not None:
            audit.record(ticket.account, verb, target=ticket,
                         actor=actor if isinstance(actor, User) else None)
        _publish(ticket, changed)
    return ticket


def postpone_ticket(ticket: Ticket, until: datetime, *, actor: Actor = None) -> Ticket:
    return change_status(ticket, Status.POSTPONED, actor=actor, until=until)


def undelete_ticket(ticket: Ticket, *, actor: Actor = None) -> Ticket:
    """Back from the trash or from spam to the status it had before."""
    if ticket.status not in CLOSED_TO_MESSAGES:
        raise ActionError(gettext("The ticket is not in the trash or marked as spam."))
    previous = ticket.previous_status or Status.OPEN
    if previous == Status.POSTPONED and (
        ticket.postponed_until is None or ticket.postponed_until <= timezone.now()
    ):
        previous = Status.OPEN
    return change_status(ticket, previous, actor=actor, until=ticket.postponed_until)


def reopen_due_postponed(now: datetime | None = None) -> int:
    """Postponed tickets of the active scope's account whose time has come become open (C).
    Idempotent: a ticket reopened already is not touched again."""
    now = now or timezone.now()
    count = 0
    for ticket in Ticket.objects.filter(status=Status.POSTPONED, postponed_until__lte=now):
        with transaction.atomic():
            changed = _change(ticket, None, now, _status_changes(ticket, Status.OPEN, now))
            _publish(ticket, changed)
        count += 1
    return count


def _status_changes(
    ticket: Ticket, status: str, now: datetime, until: datetime | None = None
) -> dict[str, Any]:
    """The field values that go with entering ``status``."""
    changes: dict[str, Any] = {"status": status}
    changes["postponed_until"] = until if status == Status.POSTPONED else None
    if status == Status.RESOLVED:
        changes["date_resolved"] = now
    elif status != Status.CLOSED:
        changes["date_resolved"] = None
    if status in CLOSED_TO_MESSAGES:
        if ticket.status not in CLOSED_TO_MESSAGES:
            changes["previous_status"] = ticket.status
        if status == Status.DELETED:
            changes["date_deleted"] = now
    else:
        changes["previous_status"] = ""
        changes["date_deleted"] = None
    return changes


def _status_text(ticket: Ticket, status: str, until: datetime | None) -> str:
    with translation.override(ticket.account.language):
        if status == Status.POSTPONED and until is not None:
            return gettext("Postponed until %(when)s") % {
                "when": until.strftime("%Y-%m-%d %H:%M UTC")
            }
        return {
            Status.RESOLVED: gettext("Resolved"),
            Status.DELETED: gettext("Moved to the trash"),
            Status.SPAM: gettext("Marked as spam"),
        }[status]  # type: ignore[index]


def _change(ticket: Ticket, actor: Actor, now: datetime, changes: Mapping[str, Any]) -> list[str]:
    """Writes ``changes`` (field → new value) to the ticket, one TicketEvent per changed field,
    a new history period when department, agent or status changed. Answers what changed."""
    changed: list[str] = []
    for name, new in changes.items():
        field = Ticket._meta.get_field(name)
        assert isinstance(field, models.Field)
        new_raw = new.pk if isinstance(new, models.Model) else new
        if getattr(ticket, field.attname) == new_raw:
            continue
        if name not in _UNTRACKED:
            _event(ticket, actor, now, name, _wire(getattr(ticket, name)), _wire(new))
            changed.append(name)
        setattr(ticket, name, new)
    if {"status", "department", "agent"} & set(changed):
        TicketHistory.objects.filter(ticket=ticket, date_to__isnull=True).update(date_to=now)
        TicketHistory.objects.create(
            account_id=ticket.account_id, ticket=ticket, department=ticket.department,
            agent=ticket.agent, status=ticket.status, date_from=now,
        )
    sla_tracking.ticket_changed(ticket, changed, now)
    ticket.date_changed = now
    ticket.save()
    return changed


def _event(ticket: Ticket, actor: Actor, now: datetime, field: str, old: Any, new: Any) -> None:
    TicketEvent.objects.create(
        account_id=ticket.account_id, ticket=ticket, field=field, old_value=_wire(old),
        new_value=_wire(new), at=now, **_author(actor, "actor"),
    )


def _wire(value: Any) -> str:
    """A value as the API shows it: public ids, letters, ISO dates, ``""`` for none."""
    if value is None:
        return ""
    if hasattr(value, "public_id"):
        return str(value.public_id)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- merge and split -----------------------------------------------------------------------


def merge_tickets(target: Ticket, sources: Iterable[Ticket], *, actor: Actor = None) -> Ticket:
    """Moves the message groups of ``sources`` into ``target`` (each keeps its type and notes
    where it came from; a MERGED group marks each source in the target), adds their tags,
    and sends each source to the trash pointing at the target."""
    sources = [s for s in dict.fromkeys(sources) if s.pk != target.pk]
    if not sources:
        raise ActionError(gettext("Choose at least one other ticket to merge."))
    if target.status in CLOSED_TO_MESSAGES or target.merged_into_id is not None:
        raise ActionError(gettext("Tickets cannot be merged into a deleted ticket."), "conflict")
    for source in sources:
        if source.account_id != target.account_id:
            raise ActionError(gettext("Unknown ticket."))
        if source.merged_into_id is not None:
            raise ActionError(
                gettext("%(code)s was merged already.") % {"code": source.code}, "conflict"
            )
    now = timezone.now()
    with transaction.atomic():
        tags = set(target.tags.all())
        for source in sources:
            MessageGroup.objects.filter(ticket=source).update(ticket=target, merged_from=source)
            tags |= set(source.tags.all())
            with translation.override(target.account.language):
                _system_group(target, GroupType.MERGED, actor, now,
                              gettext("Merged ticket %(code)s: %(subject)s")
                              % {"code": source.code, "subject": source.subject},
                              MessageType.MERGED)
                _system_group(source, GroupType.MERGED, actor, now,
                              gettext("Merged into ticket %(code)s") % {"code": target.code},
                              MessageType.MERGED)
            changes = _status_changes(source, Status.DELETED, now)
            changes["merged_into"] = target
            _change(source, actor, now, changes)
            _event(target, actor, now, "merged", "", source)
            _publish(source, ["status", "merged_into"])
        _renumber(target)
        target.tags.set(tags)
        latest = MessageGroup.objects.filter(ticket=target).aggregate(m=Max("datecreated"))["m"]
        target.last_activity = max(target.last_activity, latest or now)
        target.date_changed = now
        target.save()
        # The sources' messages now belong to the target: both documents change.
        search_index.reindex_tickets(
            Ticket.objects.filter(pk__in=[target.pk, *(s.pk for s in sources)])
        )
        audit.record(
            target.account, "ticket.merged", actor=actor if isinstance(actor, User) else None,
            target=target, sources=[s.code for s in sources],
        )
        _publish(target, ["merged"])
    return target


def _renumber(ticket: Ticket) -> None:
    groups = list(MessageGroup.objects.filter(ticket=ticket).order_by("datecreated", "pk"))
    for position, group in enumerate(groups):
        group.sort_order = position
    MessageGroup.objects.bulk_update(groups, ["sort_order"])


def split_message(group: MessageGroup, *, actor: Actor = None) -> Ticket:
    """Moves one message group out of its ticket into a new ticket of the same owner,
    department, agent and tags; both tickets show a SPLITTED notice."""
    ticket = group.ticket
    if group.type in SYSTEM_GROUP_TYPES:
        raise ActionError(gettext("Only messages can be split off."))
    others = ticket.groups.exclude(pk=group.pk).exclude(type__in=SYSTEM_GROUP_TYPES)
    if not others.exists():
        raise ActionError(gettext("The only message of a ticket cannot be split off."))
    _refuse_if_closed(ticket)
    now = timezone.now()
    with transaction.atomic():
        new = _create_ticket(
            ticket.account, actor=actor, now=now, subject=ticket.subject, owner=ticket.owner,
            department=ticket.department, agent=ticket.agent, channel_type=ticket.channel_type,
            priority=ticket.priority, custom_fields=ticket.custom_fields,
            status=Status.NEW if group.author_user_id is None else Status.ANSWERED,
        )
        new.tags.set(ticket.tags.all())
        group.ticket = new
        group.parent = None
        group.sort_order = 0
        group.save()
        with translation.override(ticket.account.language):
            _system_group(ticket, GroupType.SPLITTED, actor, now,
                          gettext("A message was split off into ticket %(code)s")
                          % {"code": new.code}, MessageType.SPLITTED)
            _system_group(new, GroupType.SPLITTED, actor, now,
                          gettext("Split off from ticket %(code)s") % {"code": ticket.code},
                          MessageType.SPLITTED)
        new.last_activity = new.last_activity_public = group.datecreated
        new.save()
        _event(ticket, actor, now, "split", "", new)
        _event(new, actor, now, "split_from", "", ticket)
        _change(ticket, actor, now, {})
        search_index.reindex_tickets(Ticket.objects.filter(pk__in=[ticket.pk, new.pk]))
        _publish(ticket, ["split"])
        _publish(new, ["created"])
    return new


# --- real-time events ----------------------------------------------------------------------


def inbox_group(account_id: str) -> str:
    return group_name(account_id, "inbox")


def ticket_group(ticket: Ticket) -> str:
    return group_name(str(ticket.account_id), "ticket", ticket.public_id)


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """What an inbox row needs, JSON-ready; the client renders it with escaping."""
    return {
        "id": ticket.public_id,
        "code": ticket.code,
        "subject": ticket.subject,
        "status": ticket.status,
        "departmentid": ticket.department.public_id,
        "agentid": ticket.agent_id,
        "owner_contactid": ticket.owner.public_id if ticket.owner else None,
        "owner_name": ticket.owner_name,
        "channel_type": ticket.channel_type,
        "priority": ticket.priority,
        "tags": sorted(ticket.tags.values_list("public_id", flat=True)),
        "last_activity": ticket.last_activity.isoformat(),
        "date_changed": ticket.date_changed.isoformat(),
    }


def _group_payload(group: MessageGroup) -> dict[str, Any]:
    return {
        "id": str(group.pk),
        "type": group.type,
        "userid": group.author_id,
        "user_full_name": group.author_name,
        "datecreated": group.datecreated.isoformat(),
        "messages": [
            {"id": str(m.pk), "type": m.type, "format": m.format, "message": m.body,
             "visibility": m.visibility}
            for m in group.messages.all()
        ],
    }


def _publish(ticket: Ticket, changed: list[str], *, group: MessageGroup | None = None) -> None:
    """After commit: the change to the account's inbox (row data, no message content) and to
    the ticket's own group (with the new message group). Both carry the department and agent
    before and after, so a consumer can drop events its agent may not see."""
    if not changed and group is None:
        return
    webhooks.ticket_changed(ticket, changed, group)
    bump_inbox_version(str(ticket.account_id))
    history = list(
        TicketHistory.objects.filter(ticket=ticket).order_by("-date_from", "-pk")[:2]
    )
    before = history[1] if len(history) > 1 and {"department", "agent"} & set(changed) else None
    payload = {
        "ticket": ticket_summary(ticket),
        "changed": changed,
        "previous": {
            "departmentid": before.department.public_id if before and before.department else None,
            "agentid": before.agent_id if before else None,
        },
    }
    publish(inbox_group(str(ticket.account_id)), "ticket.changed", **payload)
    if group is not None:
        payload["message_group"] = _group_payload(group)
    publish(ticket_group(ticket), "ticket.changed", **payload)
