"""Chat buttons, the account's chat settings, chats and their messages, agent availability
and rings.

A chat is a ticket with channel type "chat button" (or "chat invitation"), status T while it
runs. Every chat message is a ``ChatMessage`` (the delivery record: per-chat ``seq`` and the
client's id, unique both) and, on the ticket, a ``tickets.Message`` in the chat's CHAT
message group, so the transcript stays on the ticket.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel
from saruna.core.models import TenantModel
from saruna.tickets.models import Department, Message, StoredFile, Ticket
from saruna.visitors.models import Visitor


class Position(models.TextChoices):
    RIGHT = "right", _("Bottom right")
    LEFT = "left", _("Bottom left")


def default_colors() -> dict[str, str]:
    return {"background": "#1f6feb", "text": "#ffffff"}


class ChatButton(PublicIdModel):
    """A chat button on a customer's web site, with everything its widget shows.

    ``texts`` maps a language code to ``{"title", "greeting", "offline_title",
    "offline_greeting", ...}`` (missing keys fall back to built-in texts);
    ``prechat_fields`` and ``offline_fields`` are lists of ``{"name", "label", "type":
    "text"|"email"|"textarea"|"select", "required", "options"?}``; ``schedule`` maps a
    weekday ("mon".."sun") to ``[["09:00", "17:00"], ...]`` in the account's time zone, and
    an empty schedule means always.
    """

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="chat_buttons",
        verbose_name=_("department"),
    )
    colors = models.JSONField(_("colours"), default=default_colors, blank=True)
    position = models.CharField(
        _("position"), max_length=8, choices=Position.choices, default=Position.RIGHT
    )
    texts = models.JSONField(_("texts"), default=dict, blank=True)
    prechat_fields = models.JSONField(_("pre-chat form fields"), default=list, blank=True)
    offline_fields = models.JSONField(_("offline form fields"), default=list, blank=True)
    schedule = models.JSONField(_("availability schedule"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    date_created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("chat button")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class RoutingMethod(models.TextChoices):
    RING_ALL = "ring_all", _("Ring to all")
    RANDOM = "random", _("Random")
    LEAST_BUSY = "least_busy", _("Least busy (average utilisation)")
    MOST_BUSY = "most_busy", _("Most busy (maximum utilisation)")
    PRIORITY = "priority", _("Priority order")


class ChatSettings(TenantModel):
    """How the account's chats are routed. One per account, made on first use."""

    routing_method = models.CharField(
        _("routing method"), max_length=12, choices=RoutingMethod.choices,
        default=RoutingMethod.RING_ALL,
    )
    ring_seconds = models.PositiveIntegerField(_("ring time (seconds)"), default=30)
    wait_limit = models.PositiveIntegerField(
        _("wait limit (seconds)"), default=180,
        help_text=_("Nobody answers within this time: the visitor gets the offline form."),
    )
    max_queue = models.PositiveIntegerField(
        _("maximum queue length"), default=20,
        help_text=_("More waiting chats than this: new visitors get the offline form."),
    )
    default_max_chats = models.PositiveIntegerField(
        _("default maximum concurrent chats per agent"), default=3
    )
    # Agents in the order the priority method rings them (user ids); others come after.
    priority_order = models.JSONField(default=list, blank=True)
    # How long an agent whose last browser went away stays available.
    away_grace_seconds = models.PositiveIntegerField(default=60)

    class Meta:
        verbose_name = _("chat settings")
        constraints = [
            models.UniqueConstraint(fields=["account"], name="chat_chatsettings_account")
        ]

    def __str__(self) -> str:
        return str(_("Chat settings"))


class ChatStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting in the queue")
    RINGING = "ringing", _("Ringing")
    CHATTING = "chatting", _("Chatting")
    ENDED = "ended", _("Ended")


class Rating(models.TextChoices):
    GOOD = "good", _("Good")
    BAD = "bad", _("Bad")


class Chat(PublicIdModel):
    """One chat: the live side of a chat ticket."""

    id_length = 12

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="chat")
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="chats"
    )
    button = models.ForeignKey(
        ChatButton, null=True, blank=True, on_delete=models.SET_NULL, related_name="chats"
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="chats"
    )
    status = models.CharField(
        max_length=8, choices=ChatStatus.choices, default=ChatStatus.QUEUED
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="chats",
    )
    # The CHAT message group on the ticket that carries the transcript.
    group = models.ForeignKey(
        "tickets.MessageGroup", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    language = models.CharField(max_length=8, blank=True)
    fields = models.JSONField(default=dict, blank=True)  # the pre-chat form's answers
    date_queued = models.DateTimeField(default=timezone.now)
    date_accepted = models.DateTimeField(null=True, blank=True)
    date_ended = models.DateTimeField(null=True, blank=True)
    # Who or what ended it: visitor, agent, timeout (the wait limit), idle (the visitor left).
    end_reason = models.CharField(max_length=8, blank=True)
    # The visitor gave up waiting (or the wait limit passed): offered the offline form.
    went_offline = models.BooleanField(default=False)
    # The last seq handed out; incremented under the chat's row lock.
    last_seq = models.PositiveIntegerField(default=0)
    # The last seq each side has read (read receipts).
    visitor_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    visitor_last_seen = models.DateTimeField(default=timezone.now)
    rating = models.CharField(max_length=4, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(blank=True)
    invitation_id = models.CharField(max_length=32, blank=True)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("chat")
        ordering = ["-date_queued", "-pk"]
        indexes = [
            models.Index(fields=["account", "status", "date_queued"]),
            models.Index(fields=["account", "agent", "status"]),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_live(self) -> bool:
        return self.status != ChatStatus.ENDED


class MessageKind(models.TextChoices):
    VISITOR = "visitor", _("Visitor")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")


class ChatMessage(TenantModel):
    """A message of a chat, in the order of ``seq`` (1, 2, 3 … per chat, no gaps)."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    client_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(blank=True)
    file = models.ForeignKey(
        StoredFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The ticket message that carries this one in the transcript.
    ticket_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    date = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["chat", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="chat_message_seq"),
            models.UniqueConstraint(fields=["chat", "client_id"], name="chat_message_client_id"),
        ]


class AgentStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentAvailability(TenantModel):
    """An agent's chat availability. ``departments`` maps a department's public id to a
    status that overrides ``status`` there. ``last_seen`` is when one of the agent's chat
    sockets last showed life (connected, pinged, closed): an online agent counts as there
    until the account's grace period has passed since then."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_availability"
    )
    status = models.CharField(
        max_length=8, choices=AgentStatus.choices, default=AgentStatus.OFFLINE
    )
    departments = models.JSONField(default=dict, blank=True)
    max_chats = models.PositiveIntegerField(null=True, blank=True)  # null: the account's
    last_seen = models.DateTimeField(default=timezone.now)
    # When the agent last got a chat (least/most busy break ties by it).
    last_assigned = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("agent availability")
        indexes = [models.Index(fields=["account", "status"])]


class RingOutcome(models.TextChoices):
    RINGING = "ringing", _("Ringing")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    MISSED = "missed", _("Not answered")
    CANCELLED = "cancelled", _("Cancelled")


class RingPurpose(models.TextChoices):
    ROUTE = "route", _("New chat")
    TRANSFER = "transfer", _("Transfer")
    INVITE = "invite", _("Invitation to join")


class Ring(TenantModel):
    """One agent rung for one chat."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="rings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_rings"
    )
    started = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    outcome = models.CharField(
        max_length=9, choices=RingOutcome.choices, default=RingOutcome.RINGING
    )
    purpose = models.CharField(
        max_length=8, choices=RingPurpose.choices, default=RingPurpose.ROUTE
    )
    # A transfer to a department moves the chat there.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Who asked (transfer and invite rings).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["started", "pk"]
        indexes = [
            models.Index(fields=["account", "outcome", "expires"]),
            models.Index(fields=["chat", "outcome"]),
        ]


class ChatParticipant(TenantModel):
    """An agent taking part in a chat besides its owner (invited), until ``left``."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    joined = models.DateTimeField(default=timezone.now)
    left = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chat", "user"], name="chat_participant_unique")
        ]
