"""Every write of the visitors app: settings, invitations, conversions, contacts, retention.
One transaction each; the live state in the cache follows the database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saruna.accounts.models import User
from saruna.contacts.common import ActionError, validate
from saruna.contacts.models import Contact
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.tenancy import enqueue_on_commit
from saruna.visitors import live
from saruna.visitors.config import forget_cached_settings, tracking_settings
from saruna.visitors.identity import CustomerIdentity, apply_identity
from saruna.visitors.models import (
    Conversion,
    Invitation,
    InvitationRule,
    PageVisit,
    TrackingSettings,
    Visitor,
    VisitSession,
)
from saruna.visitors.queries import agent_can_chat
from saruna.webhooks import actions as webhooks

SETTINGS_FIELDS = (
    "enabled", "consent_required", "geolocation_consent_required", "respect_dnt",
    "ip_handling", "retention_days", "attribution_window_days", "attribution_model",
    "invitation_pause_minutes", "invitations_per_day", "ga_measurement_id", "ga_api_secret",
)
RULE_FIELDS = (
    "name", "enabled", "position", "text", "url_contains", "min_seconds_on_page", "min_pages",
    "source_type", "returning", "countries", "require_agents_available",
)


def save_tracking_settings(
    account: Account, fields: Mapping[str, Any], *, actor: User | None = None
) -> TrackingSettings:
    with transaction.atomic():
        settings = TrackingSettings.objects.select_for_update().get(
            pk=tracking_settings(account).pk)
        for name in SETTINGS_FIELDS:
            if name in fields:
                setattr(settings, name, fields[name])
        validate(settings)
        settings.save()
        audit.record(account, "visitors.settings_changed", actor=actor, target=settings)
        # Now for this process's next read, and after commit for a read racing the commit.
        forget_cached_settings(account)
        transaction.on_commit(lambda: forget_cached_settings(account))
    return settings


def save_invitation_rule(
    account: Account, rule: InvitationRule | None, fields: Mapping[str, Any],
    *, actor: User | None = None,
) -> InvitationRule:
    obj = rule if rule is not None else InvitationRule(account=account)
    for name in RULE_FIELDS:
        if name in fields:
            setattr(obj, name, fields[name])
    validate(obj, exclude=["public_id"])
    with transaction.atomic():
        obj.save()
        audit.record(account, "visitors.rule_saved", actor=actor, target=obj)
    return obj


def delete_invitation_rule(rule: InvitationRule, *, actor: User | None = None) -> None:
    with transaction.atomic():
        audit.record(rule.account, "visitors.rule_deleted", actor=actor, target=rule)
        rule.delete()


# --- invitations ---------------------------------------------------------------------------

def invitation_payload(invitation: Invitation) -> dict[str, Any]:
    """What the tracking module hands the loader (docs/widget.md)."""
    agent = invitation.agent
    return {
        "id": invitation.public_id, "text": invitation.text,
        "agent_name": agent.full_name if agent else "",
        "avatar_url": "",
    }


def invite_visitor(
    account: Account, visitor_id: str, *, text: str, agent: User | None = None,
    rule: InvitationRule | None = None,
) -> Invitation:
    """Invites an online visitor to chat; the invitation reaches the widget with the
    visitor's next beat. An agent may invite past the rules' caps, never twice at once."""
    text = text.strip()
    if not text:
        raise ActionError(_("Write the invitation's text."))
    if len(text) > 300:
        raise ActionError(_("The invitation's text is too long (300 characters at most)."))
    state = live.state(account.pk, visitor_id)
    visitor = Visitor.objects.filter(public_id=visitor_id).first()
    if visitor is None or state is None or visitor_id not in live.online_ids(account.pk):
        raise ActionError(_("This visitor is no longer on the web site."), "not_found")
    if agent is not None and not agent_can_chat(agent):
        # Else the visitor who accepts is told that nobody is online.
        raise ActionError(_("Set your chat status to online first: accepting the invitation "
                            "starts a chat with you."), "conflict")
    with transaction.atomic():
        if Invitation.objects.filter(
                visitor=visitor, status__in=[Invitation.Status.PENDING, Invitation.Status.SHOWN],
                created_at__gte=timezone.now() - timedelta(minutes=5)).exists():
            raise ActionError(_("This visitor has an invitation already."), "conflict")
        session = VisitSession.objects.filter(public_id=state["session"]).first()
        invitation = Invitation.objects.create(
            account=account, visitor=visitor, session=session, rule=rule, agent=agent,
            text=text,
        )
        payload = invitation_payload(invitation)
        transaction.on_commit(lambda: _post(account, visitor_id, payload))
    return invitation


def _post(account: Account, visitor_id: str, payload: dict[str, Any]) -> None:
    live.post_invitation(account.pk, visitor_id, payload)
    live.update_state(account.pk, visitor_id, pending=payload["id"])


def mark_invitation_shown(account: Account, visitor_id: str, invitation_id: str) -> None:
    """The invitation went out with a beat's answer; the caps' pause keeps the next away."""
    if Invitation.objects.filter(
        public_id=invitation_id, status=Invitation.Status.PENDING
    ).update(status=Invitation.Status.SHOWN, shown_at=timezone.now()):
        _invitation_to_ga(account, invitation_id, "saruna_invitation_shown")
    live.update_state(account.pk, visitor_id, pending=None)


def _answer(account: Account, visitor: Visitor, invitation_id: object, status: str) -> Invitation:
    if not isinstance(invitation_id, str):
        raise ActionError(_("Unknown invitation."), "not_found")
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(
            public_id=invitation_id, visitor=visitor).first()
        if invitation is None:
            raise ActionError(_("Unknown invitation."), "not_found")
        if invitation.status in (Invitation.Status.PENDING, Invitation.Status.SHOWN):
            invitation.status = status
            invitation.answered_at = timezone.now()
            invitation.save(update_fields=["status", "answered_at"])
            if status == Invitation.Status.ACCEPTED:
                _invitation_to_ga(account, invitation.public_id, "saruna_invitation_accepted")
        changes: dict[str, Any] = {"pending": None}
        if status == Invitation.Status.DECLINED:
            changes["declined"] = True

        def forget() -> None:
            live.withdraw_invitation(account.pk, visitor.public_id)
            live.update_state(account.pk, visitor.public_id, **changes)

        transaction.on_commit(forget)
    return invitation


def accept_invitation(account: Account, visitor: Visitor, invitation_id: object) -> Invitation:
    """The visitor started a chat from the invitation (the chat server calls this)."""
    return _answer(account, visitor, invitation_id, Invitation.Status.ACCEPTED)


def decline_invitation(account: Account, visitor: Visitor, invitation_id: object) -> Invitation:
    """The visitor dismissed the invitation: no rule invites them again in this visit."""
    return _answer(account, visitor, invitation_id, Invitation.Status.DECLINED)


def _invitation_to_ga(account: Account, invitation_id: str, event: str) -> None:
    _to_ga(account, "send_invitation_to_ga", account.pk, invitation_id, event)


# --- contacts --------------------------------------------------------------------------------

def link_visitor_to_contact(visitor: Visitor, contact: Contact) -> None:
    """The visitor identified or chatted: their visits (past and future) belong to the
    contact's history."""
    if visitor.contact_id == contact.pk:
        return
    visitor.contact = contact
    visitor.save(update_fields=["contact"])
    name = str(contact)
    transaction.on_commit(lambda: live.update_state(
        visitor.account_id, visitor.public_id, name=name))


def identify_visitor(account: Account, visitor: Visitor, identity: CustomerIdentity) -> Contact:
    """The host site named its logged-in customer (a verified signed identity): the visitor
    becomes that customer's contact, found by e-mail, else by the customer's user id on
    another browser, else new; their visits, before and after, join the contact."""
    from saruna.contacts.actions import create_contact, find_or_create_contact_by_email

    with transaction.atomic():
        apply_identity(visitor, identity)
        if identity.email:
            contact, _created = find_or_create_contact_by_email(
                account, identity.email, name=identity.name)
        else:
            contact = visitor.contact or Contact.objects.filter(
                visitors__external_user_id=identity.user_id).first()
            if contact is None:
                first, _sep, last = identity.name.partition(" ")
                contact = create_contact(account, firstname=first, lastname=last,
                                         system_name=identity.name or identity.user_id)
        link_visitor_to_contact(visitor, contact)
    return contact


# --- conversions -----------------------------------------------------------------------------

def _minor_units(value: object) -> int:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation as exc:
        raise ActionError(_("value must be a number.")) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal(10) ** 13:
        raise ActionError(_("value must be a number.")) from None
    return int((amount * 100).to_integral_value())


def record_conversion(
    account: Account, *, order_id: object, value: object = 0, currency: object = "",
    visitor: Visitor | None = None, contact: Contact | None = None,
    converted_at: datetime | None = None,
) -> tuple[Conversion, bool]:
    """Records a sale or goal and credits it to a chat of the visitor (or contact) within
    the account's window: the last chat by default, the first with first-touch attribution.
    The same ``order_id`` again changes nothing and returns the first record (created False).
    """
    from saruna.visitors.queries import attributed_chat

    if not isinstance(order_id, str | int) or not str(order_id).strip() or len(
            str(order_id)) > 100:
        raise ActionError(_("id must be a text of at most 100 characters."))
    order_id = str(order_id).strip()
    if not isinstance(currency, str) or (currency and (
            len(currency) != 3 or not currency.isalpha())):
        raise ActionError(_("currency must be a three-letter code such as EUR."))
    value_minor = _minor_units(value)
    if visitor is None and contact is None:
        raise ActionError(_("Name the visitor or the contact who converted."))
    existing = Conversion.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing, False
    if contact is None and visitor is not None:
        contact = visitor.contact
    at = converted_at or timezone.now()
    tracking = tracking_settings(account)
    chat = attributed_chat(visitor, contact, at, tracking)
    conversion = Conversion(
        account=account, order_id=order_id, visitor=visitor, contact=contact,
        value_minor=value_minor, currency=currency.upper(), converted_at=at,
        chat_public_id=chat.public_id if chat else "",
        agent=chat.agent if chat else None,
        department_public_id=chat.department.public_id if chat else "",
        attribution_model=tracking.attribution_model if chat else "",
    )
    try:
        with transaction.atomic():
            conversion.save()
            webhooks.conversion_recorded(conversion)
            if tracking.ga_measurement_id and tracking.ga_api_secret:
                from saruna.visitors.tasks import send_conversion_to_ga

                enqueue_on_commit(send_conversion_to_ga, account.pk, conversion.pk)
    except IntegrityError:  # the same order reported twice at once
        return Conversion.objects.get(order_id=order_id), False
    return conversion, True


# --- chats, for Google Analytics -------------------------------------------------------------

def chat_started(chat: Any) -> None:
    """The chat app calls this where a chat starts (beside its webhook): the GA4 Measurement
    Protocol gets ``saruna_chat_started`` once the transaction commits, when the account
    has set it up."""
    _chat_to_ga(chat, "saruna_chat_started")


def chat_ended(chat: Any) -> None:
    """As :func:`chat_started`, for ``saruna_chat_ended``."""
    _chat_to_ga(chat, "saruna_chat_ended")


def _chat_to_ga(chat: Any, event: str) -> None:
    _to_ga(chat.account, "send_chat_to_ga", chat.account_id, chat.pk, event)


def _to_ga(account: Account, task: str, *args: Any) -> None:
    """Queues ``saruna.visitors.tasks.<task>(*args)``, which sends an event through the GA4
    Measurement Protocol, for when the transaction commits, if the account has set it up."""
    tracking = tracking_settings(account)
    if tracking.ga_measurement_id and tracking.ga_api_secret:
        from saruna.visitors import tasks  # the tasks import these actions

        enqueue_on_commit(getattr(tasks, task), *args)


# --- retention -------------------------------------------------------------------------------

def sweep_page_visits(account: Account) -> int:
    """Deletes page visits (and visits with nothing left) older than the account's retention
    period; returns how many page visits went."""
    cutoff = timezone.now() - timedelta(days=tracking_settings(account).retention_days)
    with transaction.atomic():
        deleted, _counts = PageVisit.objects.filter(visited_at__lt=cutoff).delete()
        VisitSession.objects.filter(last_seen__lt=cutoff).delete()
    return deleted
