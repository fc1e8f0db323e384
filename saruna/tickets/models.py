"""Tickets, their message groups and messages, files, history, and the account's departments,
tags, canned messages and predefined answers.

Codes are stored as LiveAgent's letters (API §4) and ids as the API emits them (§3.1): the
API layer reads these rows without translation tables.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel
from saruna.contacts.models import Contact
from saruna.core.ids import new_id
from saruna.core.models import TenantModel

DEFAULT_DEPARTMENT_ID = "default"
SYSTEM_USER_ID = "system00"


class Department(PublicIdModel):
    name = models.CharField(_("name"), max_length=100)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="departments",
        verbose_name=_("agents"),
    )
    date_created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("department")
        ordering = ["name", "pk"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            # Agents pick departments by name; "Sales" and "sales" would be indistinguishable.
            models.UniqueConstraint("account", Lower("name"), name="department_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(PublicIdModel):
    id_length = 4

    name = models.CharField(_("name"), max_length=100)
    color = models.CharField(_("text colour"), max_length=7, blank=True)
    background_color = models.CharField(_("background colour"), max_length=7, blank=True)
    is_public = models.BooleanField(_("shown to customers"), default=False)
    # Archived tags stay on the tickets that have them but cannot be added any more.
    is_archived = models.BooleanField(_("archived"), default=False)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="tags")

    class Meta(PublicIdModel.Meta):
        verbose_name = _("tag")
        ordering = ["name"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(fields=["account", "name"], name="tag_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    INIT = "I", _("Init")
    NEW = "N", _("New")
    CHATTING = "T", _("Chatting")
    CALLING = "P", _("Calling")
    RESOLVED = "R", _("Resolved")
    DELETED = "X", _("Deleted")
    SPAM = "B", _("Spam")
    ANSWERED = "A", _("Answered")
    OPEN = "C", _("Open")
    POSTPONED = "W", _("Postponed")
    CLOSED = "L", _("Closed")


class ChannelType(models.TextChoices):
    EMAIL = "E", _("E-mail")
    CHAT_BUTTON = "B", _("Chat button")
    CONTACT_FORM = "M", _("Contact form")
    INVITATION = "I", _("Chat invitation")
    CALL = "C", _("Call")
    CALL_BUTTON = "W", _("Call button")
    FACEBOOK = "F", _("Facebook")
    FACEBOOK_MESSAGE = "A", _("Facebook message")
    TWITTER = "T", _("Twitter")
    FORUM = "Q", _("Forum")
    SUGGESTION = "S", _("Suggestion")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


def new_urlcode() -> str:
    return secrets.token_urlsafe(24)


class Ticket(PublicIdModel):
    code = models.CharField(max_length=11, editable=False)
    subject = models.CharField(_("subject"), max_length=500)
    owner = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    # What the API still shows as owner_name/owner_email after the owner contact is deleted.
    deleted_owner_name = models.CharField(max_length=255, blank=True)
    deleted_owner_email = models.CharField(max_length=254, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="tickets")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    status = models.CharField(max_length=1, choices=Status.choices, default=Status.NEW)
    # The status to return to on undelete / not-spam.
    previous_status = models.CharField(max_length=1, choices=Status.choices, blank=True)
    channel_type = models.CharField(
        max_length=1, choices=ChannelType.choices, default=ChannelType.EMAIL
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    custom_fields = models.JSONField(default=dict, blank=True)
    note = models.TextField(_("internal note"), blank=True)
    date_created = models.DateTimeField(default=timezone.now)
    date_changed = models.DateTimeField(default=timezone.now)
    date_resolved = models.DateTimeField(null=True, blank=True)
    date_due = models.DateTimeField(null=True, blank=True)
    date_deleted = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(default=timezone.now)
    last_activity_public = models.DateTimeField(default=timezone.now)
    postponed_until = models.DateTimeField(null=True, blank=True)
    # Token of the customer-portal link: random and long enough not to be guessed.
    public_access_urlcode = models.CharField(max_length=48, default=new_urlcode, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )

    class Meta(PublicIdModel.Meta):
        verbose_name = _("ticket")
        ordering = ["-last_activity", "-pk"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(fields=["account", "code"], name="ticket_code_unique"),
            models.UniqueConstraint(
                fields=["public_access_urlcode"], name="ticket_urlcode_unique"
            ),
        ]
        indexes = [
            # The inbox: newest activity first over all of an account's tickets.
            models.Index(fields=["account", "last_activity", "id"]),
            models.Index(fields=["account", "status", "last_activity"]),
            models.Index(fields=["account", "department", "status", "last_activity"]),
            models.Index(fields=["account", "agent", "status", "last_activity"]),
            # The API's default order (date_created, then id): deep _page offsets are read from
            # the index alone.
            models.Index(fields=["account", "date_created", "id"]),
            # The API's "what changed since" polls (date_changed ranges and sorts).
            models.Index(fields=["account", "date_changed"]),
            models.Index(fields=["status", "postponed_until"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.subject}"

    @property
    def owner_name(self) -> str:
        return self.owner.system_name if self.owner is not None else self.deleted_owner_name

    @property
    def owner_email(self) -> str:
        return self.owner.primary_email if self.owner is not None else self.deleted_owner_email


class GroupType(models.TextChoices):
    OFFLINE_LEGACY = "M", "OFFLINE_LEGACY"
    CHAT = "C", "CHAT"
    CALL = "P", "CALL"
    OUTGOING_CALL = "V", "OUTGOING_CALL"
    INTERNAL_CALL = "1", "INTERNAL_CALL"
    INTERNAL = "I", "INTERNAL"
    INTERNAL_OFFLINE = "U", "INTERNAL_OFFLINE"
    INTERNAL_COLLAPSED = "Z", "INTERNAL_COLLAPSED"
    STARTINFO = "S", "STARTINFO"
    TRANSFER = "T", "TRANSFER"
    POSTPONE = "J", "POSTPONE"
    DELETE = "X", "DELETE"
    SPAM = "B", "SPAM"
    TAG = "G", "TAG"
    FACEBOOK = "F", "FACEBOOK"
    TWITTER = "W", "TWITTER"
    RETWEET = "Y", "RETWEET"
    KNOWLEDGEBASE_START = "A", "KNOWLEDGEBASE_START"
    KNOWLEDGEBASE = "K", "KNOWLEDGEBASE"
    RESOLVE = "R", "RESOLVE"
    FORWARD = "O", "FORWARD"
    FORWARD_REPLY = "Q", "FORWARD_REPLY"
    SPLITTED = "L", "SPLITTED"
    MERGED = "2", "MERGED"
    INCOMING_EMAIL = "3", "INCOMING_EMAIL"
    OUTGOING_EMAIL = "4", "OUTGOING_EMAIL"
    OFFLINE = "5", "OFFLINE"
    WHATSAPP = "6", "TYPE_WHATSAPP"
    RECEIVED_ANSWER = "7", "TYPE_RECEIVED_ANSWER"


# Groups the customer never sees (how LiveAgent's exporter classifies them, API §4).
INTERNAL_GROUP_TYPES = frozenset("IUZTRJXBG")


class GroupStatus(models.TextChoices):
    DELETED = "D", _("Deleted")
    PROMOTED = "P", _("Promoted")
    VISIBLE = "V", _("Visible")
    SPLITTED = "S", _("Split")
    MERGED = "M", _("Merged")
    INITIALIZING = "I", _("Initializing")
    CONNECTING = "R", _("Connecting")
    CALLING = "C", _("Calling")


class Authored(TenantModel):
    """Written by an agent (``author_user``), a customer (``author_contact``) or, with
    neither, the system (``system00`` on the wire)."""

    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def author_id(self) -> str:
        if self.author_user_id is not None:
            return str(self.author_user_id)
        if self.author_contact is not None:
            return self.author_contact.public_id
        return SYSTEM_USER_ID

    @property
    def author_name(self) -> str:
        if self.author_user is not None:
            return self.author_user.full_name
        if self.author_contact is not None:
            return str(self.author_contact)
        return str(_("System"))


class MessageGroup(Authored):
    """One incoming mail, chat, reply, note or status change of a ticket (API ``MessageGroup``);
    the message id is the auto primary key."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="groups")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    type = models.CharField(max_length=1, choices=GroupType.choices)
    status = models.CharField(
        max_length=1, choices=GroupStatus.choices, default=GroupStatus.VISIBLE
    )
    datecreated = models.DateTimeField(default=timezone.now)
    datefinished = models.DateTimeField(null=True, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    mail_msg_id = models.CharField(max_length=998, blank=True)
    pop3_msg_id = models.CharField(max_length=255, blank=True)
    # The ticket a merged group came from.
    merged_from = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["datecreated", "sort_order", "pk"]
        indexes = [
            models.Index(fields=["ticket", "datecreated", "sort_order"]),
            models.Index(fields=["account", "mail_msg_id"]),
        ]

    @property
    def is_internal(self) -> bool:
        return self.type in INTERNAL_GROUP_TYPES


class MessageType(models.TextChoices):
    MESSAGE = "M", "MESSAGE"
    MESSAGE_LEGACY = "Y", "MESSAGE_LEGACY"
    QUOTED_TEXT = "Q", "QUOTED_TEXT"
    INTERNAL = "I", "INTERNAL"
    FILE = "F", "FILE"
    TITLE = "T", "TITLE"
    END = "E", "END"
    DISCONNECT = "D", "DISCONNECT"
    HEADER = "H", "HEADER"
    TRANSFER = "R", "TRANSFER"
    STATUS = "J", "STATUS"
    SYSTEM = "S", "SYSTEM"
    USERAGENT = "U", "USERAGENT"
    TAG = "G", "TAG"
    VOICE = "V", "VOICE"
    VOICE_INTERNAL = "1", "VOICE_INTERNAL"
    NOTE = "N", "NOTE"
    NOTE_FILE = "L", "NOTE_FILE"
    FORMFIELD = "Z", "FORMFIELD"
    SPLITTED = "B", "SPLITTED"
    RANKING_REWARD = "W", "RANKING_FEATURE_REWARD"
    RANKING_PUNISHMENT = "P", "RANKING_FEATURE_PUNISHMENT"
    RANKING_COMMENT = "C", "RANKING_FEATURE_COMMENT"
    SYSTEM_PUBLIC = "K", "SYSTEM_PUBLIC"
    SYSTEM_VISITOR = "X", "SYSTEM_VISITOR"
    ERROR_FOOTER = "0", "ERROR_FOOTER"
    MERGED = "2", "MERGED"
    INVITATION_REROUTE = "3", "INVITATION_REROUTE"
    UNDELIVERED = "4", "TYPE_MESSAGE_UNDELIVERED"
    TEXT_HEADER = "A", "TEXT_HEADER"
    TEXT_FOOTER = "O", "TEXT_FOOTER"
    LINKED = "5", "TYPE_LINKED"
    REMOVED_ATTACHMENT = "6", "TYPE_REMOVED_ATTACHMENT"


class MessageFormat(models.TextChoices):
    TEXT = "T", _("Text")
    HTML = "H", _("HTML")
    JSON = "J", _("JSON")


class Visibility(models.TextChoices):
    PUBLIC = "P", _("Customer-visible")
    INTERNAL = "I", _("Internal")


class Message(Authored):
    group = models.ForeignKey(MessageGroup, on_delete=models.CASCADE, related_name="messages")
    type = models.CharField(max_length=1, choices=MessageType.choices, default=MessageType.MESSAGE)
    format = models.CharField(max_length=1, choices=MessageFormat.choices, default="T")
    # Sanitised HTML for format H, the text itself for T, a JSON text for J (file messages).
    body = models.TextField()
    # Plain-text version for search, notifications and text mail parts.
    text = models.TextField(blank=True)
    visibility = models.CharField(
        max_length=1, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    datecreated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["datecreated", "pk"]
        indexes = [models.Index(fields=["group", "datecreated"])]


def stored_file_path(instance: StoredFile, filename: str) -> str:
    # Per-account folder first, so no path can cross tenants; two-character fan-out.
    return f"{instance.account_id}/files/{instance.public_id[:2]}/{instance.public_id}"


class StoredFile(PublicIdModel):
    """An uploaded file (API §18 ``StoredFile``); attached when ``message`` is set. The
    content type is sniffed from the bytes, never taken from the name or the client."""

    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=stored_file_path, max_length=200)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="files"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    date_created = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        indexes = [models.Index(fields=["message", "date_created"])]

    def make_public_id(self) -> str:
        # ``/files/{id}/view`` must contain ``/view`` only once (API §6.11).
        while (value := new_id()).startswith("view"):
            pass
        return value


class TicketHistory(TenantModel):
    """One period with a single department, agent and status (API ``TicketHistory``); a
    change of any of the three closes the open period and opens the next."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="history")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(max_length=1, choices=Status.choices)
    date_from = models.DateTimeField()
    date_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date_from", "pk"]
        indexes = [models.Index(fields=["account", "date_from"])]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(date_to__isnull=True),
                name="ticket_history_one_open_period",
            )
        ]

    @property
    def elapsed_seconds(self) -> int:
        end = self.date_to or timezone.now()
        return int((end - self.date_from).total_seconds())


class TicketEvent(TenantModel):
    """The change log: who changed which field of a ticket from what to what, and when.
    Values are stored as the API shows them (ids, codes, ISO dates)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=80)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["ticket", "at"])]


class CannedMessage(PublicIdModel):
    """A chat snippet; ``user`` None = shared by the account, ``department`` None = all."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    messagetext = models.TextField(_("message"))
    keywords = models.CharField(_("keywords"), max_length=255, blank=True)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("canned message")
        ordering = ["pk"]


class PredefinedAnswer(PublicIdModel):
    """A reusable e-mail answer (subject and body)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body = models.TextField(_("body"))
    format = models.CharField(
        max_length=1, choices=[("T", _("Text")), ("H", _("HTML"))], default="T"
    )

    class Meta(PublicIdModel.Meta):
        verbose_name = _("predefined answer")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name



class SavedFilter(PublicIdModel):
    """An agent's own view of the ticket list (API §19 ``rtype`` C): conditions in the ticket
    filter vocabulary of API §6.2, AND-ed. Seen by its creator, by everyone when public, and
    by the agents and departments it is shared with."""

    # None: made by an API key that acts as nobody, or its maker was deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_public = models.BooleanField(_("shared with everyone"), default=False)
    shared_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                          related_name="+")
    shared_departments = models.ManyToManyField(Department, blank=True, related_name="+")
    conditions = models.JSONField(default=list, blank=True)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("saved filter")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name
