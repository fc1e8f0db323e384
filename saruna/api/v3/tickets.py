"""Tickets (API §6): list, get, create, update, delete; message groups; history per ticket
and for all tickets (cursor); attributes; postpone; and our extension ``POST
/tickets/{ticketId}/messages`` (E.1). ``/tickets/{ticketId}/sla`` lives in ``slas.py``.

A key sees every ticket with ``ticket.read_all`` (or when it acts as nobody); with
``ticket.read`` only what its user sees in the agent panel. ``{ticketId}`` is the id or the
code (``ABC-DEF-GHI``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from typing import Any

from django.core.cache import cache
from django.core.validators import validate_email
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from saruna.accounts.models import User
from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    EQUALITY_OPERATORS,
    OK,
    Column,
    CountOut,
    CursorQuery,
    CustomFieldOut,
    DateField,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    clock,
    cursor_page,
    filtered,
    json_answer,
    page,
    page_rows,
    parse_bool,
    parse_yn,
    responses,
    split_list,
    unpaged,
)
from saruna.contacts.actions import find_or_create_contact_by_email
from saruna.contacts.common import resolve_ids
from saruna.contacts.models import Contact, ContactEmail, normalize_email
from saruna.search import search_tickets
from saruna.tickets import actions, queries
from saruna.tickets.models import (
    DEFAULT_DEPARTMENT_ID,
    Department,
    GroupType,
    Message,
    MessageFormat,
    MessageGroup,
    MessageType,
    Status,
    StoredFile,
    Tag,
    Ticket,
    TicketHistory,
)
from saruna.tickets.signals import MailOptions

router = Router(tags=["tickets"])

# How many hits of a ``search`` filter are considered (best first).
SEARCH_LIMIT = 1000
IDEMPOTENCY_SECONDS = 24 * 3600


# --- shapes ----------------------------------------------------------------------------------


class TicketOut(Schema):
    """``Ticket`` (§6.10)."""

    id: str
    owner_contactid: str | None = None
    owner_email: str | None = None
    owner_name: str | None = None
    departmentid: str | None = None
    agentid: str | None = None
    status: str | None = None
    tags: list[str]
    code: str | None = None
    channel_type: str | None = None
    date_created: str | None = DateField()
    date_changed: str | None = DateField()
    date_resolved: str | None = DateField()
    date_due: str | None = DateField()
    date_deleted: str | None = DateField()
    last_activity: str | None = DateField()
    last_activity_public: str | None = DateField()
    public_access_urlcode: str | None = None
    subject: str | None = None
    custom_fields: list[CustomFieldOut]


class TicketInformationOut(Schema):
    """``TicketInformation``: the answer to ``POST /tickets`` (``tags`` is a comma list)."""

    id: str
    ownerid: str | None = None
    owner_contactid: str | None = None
    departmentid: str | None = None
    agentid: str | None = None
    status: str | None = None
    tags: str
    code: str | None = None
    channel_type: str | None = None
    date_created: str | None = DateField()
    public_access_urlcode: str | None = None
    subject: str | None = None
    custom_fields: list[CustomFieldOut]


class CustomFieldIn(Schema):
    code: str
    value: str | None = None


class TicketCreate(Schema):
    """``TicketListItem``: the body of ``POST /tickets``."""

    useridentifier: str
    subject: str
    departmentid: str
    recipient: str
    message: str
    recipient_name: str | None = None
    carbon_copies: str | None = None
    blind_carbon_copies: str | None = None
    carbon_copy: str | None = None
    status: str | None = None
    mail_message_id: str | None = None
    do_not_send_mail: str | None = None
    use_template: str | None = None
    is_html_message: str | None = None
    custom_fields: list[CustomFieldIn] | None = None
    tags: list[str] | None = None
    attachments: str | None = None
    date_created: str | None = None


class TicketUpdate(Schema):
    """``TicketUpdatable``; any other key (a whole fetched ``Ticket``) is ignored."""

    model_config = ConfigDict(extra="ignore")

    owner_contactid: str | None = None
    departmentid: str | None = None
    agentid: str | None = None
    status: str | None = None
    subject: str | None = None
    tags: list[str] | None = None
    custom_fields: list[CustomFieldIn] | None = None


class MessageOut(Schema):
    """``Message`` (§6.10); file messages carry the JSON table of §6.11."""

    id: str
    userid: str | None = None
    type: str | None = None
    datecreated: str | None = DateField()
    format: str | None = None
    message: str | None = None
    visibility: str | None = None


class MessageGroupOut(Schema):
    id: str
    parent_id: str | None = None
    userid: str | None = None
    user_full_name: str | None = None
    type: str | None = None
    status: str | None = None
    datecreated: str | None = DateField()
    datefinished: str | None = DateField()
    sort_order: int | None = None
    mail_msg_id: str | None = None
    pop3_msg_id: str | None = None
    messages: list[MessageOut]


class TicketHistoryOut(Schema):
    id: str
    conversation_id: str | None = None
    conversation_code: str | None = None
    department_id: str | None = None
    department_name: str | None = None
    agent_id: str | None = None
    status: str | None = None
    date_from: str | None = DateField()
    date_to: str | None = DateField()
    elapsed_time: str | None = None


class TicketAttributeOut(Schema):
    id: str | None = None
    name: str
    value: str | None = None


class TicketPostpone(Schema):
    date_time: str


class TicketReply(Schema):
    """Our extension E.1: a reply, customer message or internal note on a ticket."""

    message: str
    type: str | None = None
    format: str | None = None
    is_html_message: str | None = None
    useridentifier: str | None = None
    recipient: str | None = None
    carbon_copies: str | None = None
    blind_carbon_copies: str | None = None
    attachments: str | None = None
    do_not_send_mail: str | None = None
    use_template: str | None = None
    status: str | None = None
    mail_message_id: str | None = None
    date_created: str | None = None


class MessagesQuery(PageQuery):
    include_quoted: str | None = Field(
        None, alias="includeQuotedMessages",
        description="true: quoted text of earlier mails (type Q) carries its text",
    )


# --- serializers ---------------------------------------------------------------------------


def custom_fields_out(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "value": value} for code, value in sorted(values.items())]


TICKET_DATES = ("date_created", "date_changed", "date_resolved", "date_due", "date_deleted",
                "last_activity", "last_activity_public")
# What a ticket's wire form reads, as ``values()`` paths: plain rows instead of a ticket, a
# contact and a department instance each (building those was most of a long list's time).
TICKET_ROW = (
    "pk", "public_id", "owner_id", "owner__public_id", "owner__system_name",
    "deleted_owner_name", "deleted_owner_email", "department__public_id", "agent_id",
    "status", "code", "channel_type", *TICKET_DATES, "public_access_urlcode", "subject",
    "custom_fields",
)


def ticket_out(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """``ticket`` as stored (read again: the same code as the list)."""
    return tickets_out(request, Ticket.objects.filter(pk=ticket.pk))[0]


def tickets_out(request: HttpRequest, tickets: QuerySet[Ticket]) -> list[dict[str, Any]]:
    """``tickets`` (a page, in its order) with two more queries in all: their tag ids and
    their owners' primary addresses."""
    rows = list(tickets.values(*TICKET_ROW))
    tags: dict[int, list[str]] = defaultdict(list)
    for ticket_id, tag_id in Ticket.tags.through.objects.filter(
        ticket_id__in=[row["pk"] for row in rows]
    ).values_list("ticket_id", "tag__public_id"):
        tags[ticket_id].append(tag_id)
    emails: dict[int, str] = {}
    owner_ids = {row["owner_id"] for row in rows if row["owner_id"] is not None}
    for contact_id, email in ContactEmail.objects.filter(contact_id__in=owner_ids).order_by(
        "-position", "-pk"
    ).values_list("contact_id", "email"):
        emails[contact_id] = email  # the last written is the first in order
    when = clock(request).format
    out = []
    for row in rows:
        owned = row["owner_id"] is not None
        out.append({
            "id": row["public_id"],
            "owner_contactid": row["owner__public_id"],
            "owner_email": (emails.get(row["owner_id"]) if owned
                            else row["deleted_owner_email"]) or None,
            "owner_name": (row["owner__system_name"] if owned
                           else row["deleted_owner_name"]) or None,
            "departmentid": row["department__public_id"],
            "agentid": row["agent_id"],
            "status": row["status"],
            "tags": sorted(tags[row["pk"]]),
            "code": row["code"],
            "channel_type": row["channel_type"],
            **{name: when(row[name]) for name in TICKET_DATES},
            "public_access_urlcode": row["public_access_urlcode"],
            "subject": row["subject"],
            "custom_fields": custom_fields_out(row["custom_fields"]),
        })
    return out


def message_out(request: HttpRequest, message: Message, *, quoted: bool = True) -> dict[str, Any]:
    hide = message.type == MessageType.QUOTED_TEXT and not quoted
    return {
        "id": str(message.pk),
        "userid": message.author_id,
        "type": message.type,
        "datecreated": clock(request).format(message.datecreated),
        "format": message.format,
        "message": None if hide else message.body,
        "visibility": message.visibility,
    }


def group_out(request: HttpRequest, group: MessageGroup, *, quoted: bool = True) -> dict[str, Any]:
    when = clock(request).format
    return {
        "id": str(group.pk),
        "parent_id": str(group.parent_id) if group.parent_id is not None else None,
        "userid": group.author_id,
        "user_full_name": group.author_name,
        "type": group.type,
        "status": group.status,
        "datecreated": when(group.datecreated),
        "datefinished": when(group.datefinished),
        "sort_order": group.sort_order,
        "mail_msg_id": group.mail_msg_id or None,
        "pop3_msg_id": group.pop3_msg_id or None,
        "messages": [message_out(request, m, quoted=quoted) for m in group.messages.all()],
    }


def history_out(request: HttpRequest, row: TicketHistory) -> dict[str, Any]:
    when = clock(request).format
    return {
        "id": str(row.pk),
        "conversation_id": row.ticket.public_id,
        "conversation_code": row.ticket.code,
        "department_id": row.department.public_id if row.department else None,
        "department_name": row.department.name if row.department else None,
        "agent_id": row.agent_id,
        "status": row.status,
        "date_from": when(row.date_from),
        "date_to": when(row.date_to),
        "elapsed_time": str(row.elapsed_seconds),
    }


# --- what a key sees -------------------------------------------------------------------------


def visible_tickets(request: HttpRequest) -> QuerySet[Ticket]:
    """The tickets this request's key may read (403 without a reading privilege)."""
    key = require(request, "ticket.read", "ticket.read_all")
    if key.has("ticket.read_all") or key.user is None:
        return Ticket.objects.all()
    return queries.visible_tickets(key.user)


def find_ticket(request: HttpRequest, ticket_id: str) -> Ticket:
    """The ticket named by id or code among those the key sees; 404 otherwise (another
    account's ticket included)."""
    ticket = queries.find_ticket(ticket_id)
    if ticket is None or not visible_tickets(request).filter(pk=ticket.pk).exists():
        raise ApiError(404, gettext("Unknown ticket: %(id)s") % {"id": ticket_id})
    return ticket


def _search(request: HttpRequest, tickets: QuerySet[Any], text: str) -> QuerySet[Any]:
    found = search_tickets(request.account, text, within=tickets,  # type: ignore[attr-defined]
                           limit=SEARCH_LIMIT)
    return tickets.filter(pk__in=found)


def _importance(descending: bool) -> list[Any]:
    """Overdue first, then by due moment, tickets without one last (§6.2)."""
    due = F("date_due")
    return [due.desc(nulls_first=True) if descending else due.asc(nulls_last=True)]


DATE = Column(kind="date")

TICKETS = ListSpec(
    columns={
        "status": Column("status", "exact", EQUALITY_OPERATORS),
        "tags": Column("tags__public_id", "multi"),
        "channel_type": Column("channel_type", "exact", EQUALITY_OPERATORS),
        "subject": Column("subject", contains=True),
        "owner_contactid": Column("owner__public_id", "exact", EQUALITY_OPERATORS),
        "agentid": Column("agent_id", "exact", EQUALITY_OPERATORS),
        "departmentid": Column("department__public_id", "exact", EQUALITY_OPERATORS),
        "code": Column("code", "exact", EQUALITY_OPERATORS),
        "search": Column(kind="search", search=_search),
        **{name: Column(name, "date") for name in (
            "date_created", "date_changed", "date_resolved", "date_due", "last_activity")},
    },
    sorts={
        "date_created": "date_created", "datecreated": "date_created",
        "date_changed": "date_changed", "datechanged": "date_changed",
        "importance": _importance, "last_activity": "last_activity", "date_due": "date_due",
        "date_resolved": "date_resolved", "code": "code", "subject": "subject",
        "status": "status",
    },
    default_sort="date_created",
    serialize=ticket_out,
)

GROUPS = ListSpec(
    columns={
        "datecreated": Column("datecreated", "date"),
        "date_created": Column("datecreated", "date"),
        "type": Column("type", "exact", EQUALITY_OPERATORS),
        "status": Column("status", "exact", EQUALITY_OPERATORS),
    },
    sorts={"datecreated": "datecreated", "date_created": "datecreated",
           "sort_order": "sort_order", "id": "pk"},
    default_sort="datecreated",
    serialize=group_out,
)

HISTORY = ListSpec(
    columns={
        "date_from": Column("date_from", "date"),
        "date_to": Column("date_to", "date"),
        "conversation_id": Column("ticket__public_id", "exact", EQUALITY_OPERATORS),
        "conversation_code": Column("ticket__code", "exact", EQUALITY_OPERATORS),
        "department_id": Column("department__public_id", "exact", EQUALITY_OPERATORS),
        "agent_id": Column("agent_id", "exact", EQUALITY_OPERATORS),
        "status": Column("status", "exact", EQUALITY_OPERATORS),
    },
    sorts={"date_from": "date_from", "id": "pk"},
    default_sort="date_from",
    serialize=history_out,
)


# --- reading -------------------------------------------------------------------------------


@router.get("/tickets", response=responses(list[TicketOut]), summary="List tickets")
def list_tickets(request: HttpRequest, params: Query[PageQuery]) -> HttpResponse:
    chosen = page_rows(request, visible_tickets(request), TICKETS, params)
    # The page is chosen on the ticket table alone and only its rows are joined to owners and
    # departments: a deep _page no longer joins every row it skips.
    rows = Ticket.objects.filter(pk__in=chosen.values("pk")).order_by(*chosen.query.order_by)
    return json_answer(tickets_out(request, rows))


def _history_rows(request: HttpRequest) -> QuerySet[TicketHistory]:
    return TicketHistory.objects.filter(
        ticket__in=visible_tickets(request).values("pk")
    ).select_related("ticket", "department")


@router.get("/tickets/history", response=responses(list[TicketHistoryOut]),
            summary="History of all tickets (cursor paging)")
def all_history(
    request: HttpRequest, response: HttpResponse, params: Query[CursorQuery]
) -> list[dict[str, Any]]:
    """Pages follow the ``next_page_cursor`` response header; it is absent on the last page.
    The optional ``Timezone-Offset`` header (seconds) sets the zone of dates."""
    return cursor_page(request, response, _history_rows(request), HISTORY, params)


class CountQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    filters: str | None = Field(None, alias="_filters")


@router.get("/tickets/history/count", response=responses(CountOut),
            summary="Count history rows")
def count_history(request: HttpRequest, params: Query[CountQuery]) -> dict[str, int]:
    return {"count": filtered(request, _history_rows(request), HISTORY, params.filters).count()}


@router.get("/tickets/{ticketId}", response=responses(TicketOut), summary="Get a ticket")
def get_ticket(request: HttpRequest, ticketId: str) -> dict[str, Any]:
    return ticket_out(request, find_ticket(request, ticketId))


@router.get("/tickets/{ticketId}/messages", response=responses(list[MessageGroupOut]),
            summary="Message groups of a ticket with their messages")
def list_messages(
    request: HttpRequest, ticketId: str, params: Query[MessagesQuery]
) -> list[dict[str, Any]]:
    ticket = find_ticket(request, ticketId)
    quoted = parse_bool(params.include_quoted, "includeQuotedMessages", False)
    spec = ListSpec(
        columns=GROUPS.columns, sorts=GROUPS.sorts, default_sort=GROUPS.default_sort,
        serialize=lambda r, g: group_out(r, g, quoted=quoted),
    )
    return page(request, queries.conversation(ticket), spec, params)


@router.get("/tickets/{ticketId}/history", response=responses(list[TicketHistoryOut]),
            summary="History of one ticket")
def ticket_history(
    request: HttpRequest, ticketId: str, params: Query[PageQuery]
) -> list[dict[str, Any]]:
    ticket = find_ticket(request, ticketId)
    rows = TicketHistory.objects.filter(ticket=ticket).select_related("ticket", "department")
    return unpaged(request, rows, HISTORY, params)


# --- attributes ----------------------------------------------------------------------------


ATTRIBUTES = ("note", "inNewOrOpenState", "endChatOrCall")


def _attribute_value(ticket: Ticket, name: str) -> str | None:
    if name == "note":
        return ticket.note or None
    if name == "inNewOrOpenState":
        return "Y" if ticket.status in (Status.NEW, Status.OPEN) else "N"
    return "Y" if ticket.status in (Status.CHATTING, Status.CALLING) else "N"


def _known_attribute(name: str) -> str:
    if name not in ATTRIBUTES:
        raise ApiError(404, gettext("Unknown ticket attribute: %(n)s") % {"n": name})
    return name


@router.get("/tickets/{ticketId}/attributes/{attributeName}",
            response=responses(TicketAttributeOut), summary="Read a ticket attribute")
def get_attribute(
    request: HttpRequest, ticketId: str, attributeName: str
) -> dict[str, Any]:
    ticket = find_ticket(request, ticketId)
    name = _known_attribute(attributeName)
    return {"id": ticket.public_id, "name": name, "value": _attribute_value(ticket, name)}


_FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "required": ["value"],
                           "properties": {"value": {"type": "string"}}},
            },
            "application/json": {
                "schema": {"type": "object", "required": ["value"],
                           "properties": {"value": {"type": "string"}}},
            },
        },
    }
}


def _form_value(request: HttpRequest) -> str:
    """``value`` from a form body (what LiveAgent's client sends) or a JSON body."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, gettext("The body is not valid JSON.")) from exc
        value = data.get("value") if isinstance(data, dict) else None
    else:
        value = QueryDict(request.body).get("value")
    if value is None:
        raise ApiError(400, gettext("value is required."))
    return str(value)


@router.put("/tickets/{ticketId}/attributes/{attributeName}", response=responses(OkOut),
            openapi_extra=_FORM_BODY, summary="Change a ticket attribute")
def put_attribute(
    request: HttpRequest, ticketId: str, attributeName: str
) -> dict[str, Any]:
    key = require(request, "ticket.operate")
    ticket = find_ticket(request, ticketId)
    name = _known_attribute(attributeName)
    value = _form_value(request)
    if name == "note":
        actions.update_ticket(ticket, actor=key.user, note=value)
    elif name == "inNewOrOpenState":
        if parse_yn(value, "value") and ticket.status not in (Status.NEW, Status.OPEN):
            actions.change_status(ticket, Status.OPEN, actor=key.user)
    elif ticket.status in (Status.CHATTING, Status.CALLING):
        actions.change_status(ticket, Status.OPEN, actor=key.user)
    audited(request, "api.ticket.changed", ticket, attribute=name)
    return OK


# --- writing -------------------------------------------------------------------------------


def _author(identifier: str) -> User | Contact | None:
    """An agent or contact by id or e-mail; None for an unknown e-mail address."""
    text = identifier.strip()
    agent = User.objects.filter(Q(pk=text) | Q(email__iexact=text), is_active=True).first()
    if agent is not None:
        return agent
    contact = Contact.objects.filter(public_id=text, merged_into__isnull=True).first()
    if contact is not None:
        return contact
    found = ContactEmail.objects.filter(
        normalized=normalize_email(text), contact__isnull=False
    ).select_related("contact").first()
    if found is not None:
        return found.contact
    if "@" not in text:
        raise ApiError(400, gettext("Unknown user: %(id)s") % {"id": text})
    return None


def _email(address: str, name: str) -> str:
    address = address.strip()
    try:
        validate_email(address)
    except Exception as exc:
        raise ApiError(400, gettext("%(f)s is not an e-mail address: %(a)s")
                       % {"f": name, "a": address}) from exc
    return address


def _files(ids: str | None) -> list[StoredFile]:
    files = resolve_ids(StoredFile, split_list(ids))
    for stored in files:
        if stored.message_id is not None:
            raise ApiError(400, gettext("The file %(id)s is attached already.")
                           % {"id": stored.public_id})
    return files


def _custom_fields(items: list[CustomFieldIn] | None) -> dict[str, Any]:
    return {item.code: item.value for item in items or []}


def _format(html_flag: str | None, format: str | None = None) -> str:
    if format:
        if format.upper() not in (MessageFormat.TEXT, MessageFormat.HTML):
            raise ApiError(400, gettext("format must be T or H."))
        return format.upper()
    if html_flag and parse_yn(html_flag, "is_html_message"):
        return MessageFormat.HTML
    return MessageFormat.TEXT


def _mail_message_id(given: str | None, do_not_send: str | None, host: str) -> str:
    """A reply with a Message-ID is not mailed (it was a mail already); ``do_not_send_mail``
    gives the message one of ours for the same effect."""
    if given:
        if MessageGroup.objects.filter(mail_msg_id=given.strip()).exists():
            raise ApiError(409, gettext("A message with this mail_message_id exists already."))
        return given.strip()
    if do_not_send and parse_yn(do_not_send, "do_not_send_mail"):
        return f"<{uuid.uuid4().hex}@{host}>"
    return ""


def _mail_options(cc: str | None, bcc: str | None, use_template: str | None
                  ) -> MailOptions:
    """How an agent's message is mailed: ``carbon_copies``/``blind_carbon_copies``
    (comma-separated) and ``use_template`` (Y: wrapped in the help desk's header and footer)."""
    return actions.mail_options(
        cc, bcc, use_template=parse_yn(use_template, "use_template") if use_template else True)


def _department(request: HttpRequest, department_id: str) -> Department:
    """By id; ``default`` always exists (made on first use)."""
    if department_id == DEFAULT_DEPARTMENT_ID:
        return actions.default_department(request.account)  # type: ignore[attr-defined]
    found = Department.objects.filter(public_id=department_id).first()
    if found is None:
        raise ApiError(400, gettext("Unknown department: %(id)s") % {"id": department_id})
    return found


def _status_in(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    status = value.strip().upper()
    if status == Status.INIT:
        return Status.NEW
    if status not in Status.values:
        raise ApiError(400, gettext("Unknown status: %(s)s") % {"s": value})
    return status


@router.post("/tickets", response=responses(TicketInformationOut), summary="Create a ticket")
def create_ticket(request: HttpRequest, body: TicketCreate) -> dict[str, Any]:
    key = require(request, "ticket.create")
    account = request.account  # type: ignore[attr-defined]
    department = _department(request, body.departmentid)
    author = _author(body.useridentifier)
    recipient = _email(body.recipient, "recipient")
    from saruna.mail.models import Mailbox

    own_addresses = {normalize_email(e) for e in Mailbox.objects.values_list("email", flat=True)}
    if author is None:
        author, _created = find_or_create_contact_by_email(
            account, _email(body.useridentifier, "useridentifier"), actor=key.user
        )
    date_created = clock(request).parse(body.date_created, "date_created") if (
        body.date_created) else None
    common: dict[str, Any] = {
        "department": department,
        "format": _format(body.is_html_message),
        "status": _status_in(body.status),
        "tags": resolve_ids(Tag, body.tags or []),
        "custom_fields": _custom_fields(body.custom_fields),
        "files": _files(body.attachments),
        "date_created": date_created,
    }
    if isinstance(author, User):
        if normalize_email(recipient) in own_addresses:
            raise ApiError(400, gettext("recipient must be the customer's address."))
        owner, _created = find_or_create_contact_by_email(
            account, recipient, name=body.recipient_name or "", actor=key.user
        )
        ticket = actions.open_ticket(
            account, body.subject, body.message, owner, actor=author,
            mail_msg_id=_mail_message_id(body.mail_message_id, body.do_not_send_mail,
                                         account.host),
            mail=_mail_options(body.carbon_copies or body.carbon_copy, body.blind_carbon_copies,
                               body.use_template),
            **common,
        )
    else:
        if normalize_email(recipient) not in own_addresses:
            raise ApiError(400, gettext(
                "recipient must be one of the account's mailbox addresses when a contact "
                "writes the ticket."))
        ticket = actions.open_ticket(
            account, body.subject, body.message, author,
            mail_msg_id=_mail_message_id(body.mail_message_id, None, account.host), **common,
        )
    audited(request, "api.ticket.created", ticket)
    out = ticket_out(request, ticket)
    return {
        **{k: out[k] for k in ("id", "owner_contactid", "departmentid", "agentid", "status",
                               "code", "channel_type", "date_created", "public_access_urlcode",
                               "subject", "custom_fields")},
        "ownerid": out["owner_contactid"],
        "tags": ",".join(out["tags"]),
    }


@router.put("/tickets/{ticketId}", response=responses(TicketOut), summary="Change a ticket")
def update_ticket(
    request: HttpRequest, ticketId: str, body: TicketUpdate
) -> dict[str, Any]:
    """Only the keys sent are written; every key outside ``TicketUpdatable`` is ignored, so a
    whole fetched ticket can be sent back."""
    key = require(request, "ticket.operate")
    ticket = find_ticket(request, ticketId)
    sent = body.model_fields_set
    actor = key.user
    if "subject" in sent and body.subject is not None and body.subject != ticket.subject:
        actions.update_ticket(ticket, actor=actor, subject=body.subject)
    if "owner_contactid" in sent and body.owner_contactid:
        owner = Contact.objects.filter(public_id=body.owner_contactid).first()
        if owner is None:
            raise ApiError(400, gettext("Unknown contact: %(id)s") % {"id": body.owner_contactid})
        actions.update_ticket(ticket, actor=actor, owner=owner)
    if "custom_fields" in sent and body.custom_fields is not None:
        actions.update_ticket(ticket, actor=actor, custom_fields=_custom_fields(body.custom_fields))
    if "departmentid" in sent and body.departmentid:
        actions.change_department(ticket, _department(request, body.departmentid), actor=actor)
    if "agentid" in sent and (body.agentid or None) != ticket.agent_id:
        agent = None
        if body.agentid:
            agent = User.objects.filter(pk=body.agentid, is_active=True).first()
            if agent is None:
                raise ApiError(400, gettext("Unknown agent: %(id)s") % {"id": body.agentid})
        actions.assign_ticket(ticket, agent, actor=actor)
    if "tags" in sent and body.tags is not None:
        actions.set_tags(ticket, resolve_ids(Tag, body.tags), actor=actor)
    status = _status_in(body.status) if "status" in sent else None
    if status is not None and status != ticket.status:
        require(request, "ticket.close" if status in (Status.RESOLVED, Status.CLOSED)
                else "ticket.change_state")
        if status in (Status.CHATTING, Status.CALLING, Status.INIT):
            raise ApiError(400, gettext("The status %(s)s cannot be set.") % {"s": status})
        actions.change_status(ticket, status, actor=actor)
    audited(request, "api.ticket.changed", ticket, fields=sorted(sent))
    return ticket_out(request, ticket)


@router.delete("/tickets/{ticketId}", response=responses(OkOut),
               summary="Move a ticket to the trash")
def delete_ticket(request: HttpRequest, ticketId: str) -> dict[str, Any]:
    key = require(request, "ticket.change_state")
    ticket = find_ticket(request, ticketId)
    if ticket.status != Status.DELETED:
        actions.change_status(ticket, Status.DELETED, actor=key.user)
        audited(request, "api.ticket.deleted", ticket)
    return OK


@router.put("/tickets/{ticketId}/postpone", response=responses(OkOut),
            summary="Postpone a ticket")
def postpone(
    request: HttpRequest, ticketId: str, body: TicketPostpone
) -> dict[str, Any]:
    key = require(request, "ticket.operate")
    ticket = find_ticket(request, ticketId)
    until = clock(request).parse(body.date_time, "date_time")
    actions.postpone_ticket(ticket, until, actor=key.user)
    audited(request, "api.ticket.changed", ticket, postponed_until=until.isoformat())
    return OK


@router.post("/tickets/{ticketId}/messages", response=responses(MessageGroupOut),
             summary="Add a reply, customer message or internal note (Saruna extension)")
def add_message(
    request: HttpRequest, ticketId: str, body: TicketReply
) -> Any:
    """Not in LiveAgent v3 (our extension E.1). ``type`` is ``reply`` (default) or ``note``.
    An ``Idempotency-Key`` header makes a retry within 24 hours answer the first result
    without adding the message again."""
    kind = (body.type or "reply").strip().lower()
    if kind not in ("reply", "note"):
        raise ApiError(400, gettext("type must be reply or note."))
    key = require(request, "ticket.answer" if kind == "reply" else "ticket.operate")
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    cache_key = ""
    if idempotency:
        digest = hashlib.sha256(f"{ticketId}\n{idempotency}".encode()).hexdigest()[:32]
        cache_key = f"{key.account_id}:api:idempotency:{key.pk}:{digest}"
        stored = cache.get(cache_key)
        if stored is not None:
            return stored
    ticket = find_ticket(request, ticketId)
    if not body.message.strip():
        raise ApiError(400, gettext("The message cannot be empty."))
    author: User | Contact | None = key.user
    if body.useridentifier:
        author = _author(body.useridentifier)
        if author is None:
            raise ApiError(400, gettext("Unknown user: %(id)s") % {"id": body.useridentifier})
    if author is None:
        raise ApiError(400, gettext("Name the author in useridentifier."))
    fmt = _format(body.is_html_message, body.format)
    files = _files(body.attachments)
    date_created = clock(request).parse(body.date_created, "date_created") if (
        body.date_created) else None
    host = request.account.host  # type: ignore[attr-defined]
    if kind == "note":
        if not isinstance(author, User):
            raise ApiError(400, gettext("Only agents write internal notes."))
        group = actions.add_internal_note(ticket, author, body.message, format=fmt, files=files)
    elif isinstance(author, Contact):
        group = actions.add_customer_message(
            ticket, author, body.message, format=fmt, files=files, date_created=date_created,
            mail_msg_id=_mail_message_id(body.mail_message_id, None, host),
        )
    else:
        status = _status_in(body.status) or Status.ANSWERED
        running_chat = ticket.status == Status.CHATTING
        group = actions.add_agent_reply(
            ticket, author, body.message, format=fmt, files=files, status=status,
            group_type=GroupType.CHAT if running_chat else GroupType.OUTGOING_EMAIL,
            date_created=date_created,
            mail_msg_id=_mail_message_id(body.mail_message_id, body.do_not_send_mail, host),
            mail=_mail_options(body.carbon_copies, body.blind_carbon_copies, body.use_template),
        )
    audited(request, "api.ticket.message_added", ticket, group=group.pk, kind=kind)
    fresh = queries.conversation(ticket).get(pk=group.pk)
    result = group_out(request, fresh, quoted=True)
    if cache_key:
        cache.set(cache_key, result, IDEMPOTENCY_SECONDS)
    return result

