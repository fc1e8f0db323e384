"""Every write to webhooks, and :func:`emit`, the one entry point through which the other
apps' actions announce events. A delivery row is stored in the caller's transaction (an
event is never lost) and sent by a task once that transaction commits."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from saruna.contacts.common import ActionError, fresh_value
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.tenancy import enqueue_on_commit
from saruna.tickets.models import Status
from saruna.webhooks import delivery as sending
from saruna.webhooks import payloads, urlguard
from saruna.webhooks.models import PING, Delivery, Event, Webhook, new_secret

if TYPE_CHECKING:
    from saruna.accounts.models import User
    from saruna.chat.models import Chat
    from saruna.contacts.models import Contact
    from saruna.sla.models import SlaRecord
    from saruna.tickets.models import MessageGroup, Ticket
    from saruna.visitors.models import Conversion

Data = Mapping[str, Any]
# How long the delivery log keeps a finished delivery.
LOG_KEPT = timedelta(days=30)


# --- events ----------------------------------------------------------------------------------


def emit(account: Account | str, event: str, data: Data | Callable[[], Data]) -> list[Delivery]:
    """Queue ``event`` for every active webhook of ``account`` (or account id) subscribed to
    it. ``data`` may be a function, called only when somebody listens (most accounts have no
    webhooks, so most writes pay one small query here)."""
    account_id = account if isinstance(account, str) else account.pk
    hooks = [hook for hook in Webhook.objects.filter(account_id=account_id, is_active=True)
             .select_related("account") if event in hook.events]
    if not hooks:
        return []
    content = data() if callable(data) else data
    return [_queue(hook, event, content) for hook in hooks]


def _queue(webhook: Webhook, event: str, data: Data) -> Delivery:
    account = webhook.account
    now = timezone.now()
    delivery = Delivery(account=account, webhook=webhook, event=event, created_at=now)
    delivery.public_id = fresh_value(Delivery, account.pk, "public_id", delivery.make_public_id)
    delivery.body = json.dumps({
        "id": delivery.public_id, "event": event,
        "date_created": payloads.date(now, account), "account": account.pk, "data": data,
    }, cls=DjangoJSONEncoder, ensure_ascii=False)
    delivery.save()
    if event != PING:  # a test ping is sent at once by whoever asked for it
        from saruna.webhooks.tasks import deliver_webhook

        enqueue_on_commit(deliver_webhook, account.pk, delivery.pk)
    return delivery


def ticket_changed(ticket: Ticket, changed: list[str], group: MessageGroup | None) -> None:
    """The help desk's one announcement of a ticket change (``changed`` names what changed;
    ``group`` is a new message group) as webhook events."""
    account = ticket.account_id

    def with_group() -> Data:
        assert group is not None
        return {"ticket": payloads.ticket(ticket), "message_group": payloads.message_group(group)}

    if "created" in changed:
        emit(account, Event.TICKET_CREATED,
             with_group if group is not None else lambda: {"ticket": payloads.ticket(ticket)})
        return
    if group is not None:
        emit(account, Event.MESSAGE_GROUP_CREATED, with_group)
    if changed:
        emit(account, Event.TICKET_UPDATED,
             lambda: {"ticket": payloads.ticket(ticket), "changed": sorted(changed)})
    if "status" in changed and ticket.status == Status.DELETED:
        emit(account, Event.TICKET_DELETED, lambda: {"ticket": payloads.ticket(ticket)})


def contact_created(contact: Contact) -> None:
    emit(contact.account, Event.CONTACT_CREATED, lambda: {"contact": payloads.contact(contact)})


def contact_updated(contact: Contact, changed: list[str]) -> None:
    """``changed`` names the contact's fields that were written."""
    emit(contact.account, Event.CONTACT_UPDATED,
         lambda: {"contact": payloads.contact(contact), "changed": sorted(changed)})


def contact_deleted(contact: Contact, merged_into: Contact | None = None) -> None:
    """Called before the row goes (the payload is read at once), or when a merge leaves the
    contact behind as a tombstone the API no longer shows (``merged_into`` the survivor)."""
    emit(contact.account, Event.CONTACT_DELETED, lambda: {
        "contact": payloads.contact(contact),
        "merged_into": merged_into.public_id if merged_into is not None else None})


def sla_breached(record: SlaRecord) -> None:
    emit(record.account_id, Event.SLA_BREACHED, lambda: {
        "ticket": payloads.ticket(record.ticket), "sla": payloads.sla_record(record)})


def chat_started(chat: Chat) -> None:
    emit(chat.account, Event.CHAT_STARTED,
         lambda: {"chat": payloads.chat(chat), "ticket": payloads.ticket(chat.ticket)})


def chat_ended(chat: Chat, reason: str) -> None:
    """``reason``: who or what ended it (the chat app's END_REASONS)."""
    emit(chat.account, Event.CHAT_ENDED, lambda: {
        "chat": payloads.chat(chat), "ticket": payloads.ticket(chat.ticket), "reason": reason})


def conversion_recorded(conversion: Conversion) -> None:
    def data() -> Data:
        contact = conversion.contact
        return {"conversion": payloads.conversion(conversion),
                "contact": payloads.contact(contact) if contact else None}

    emit(conversion.account, Event.CONVERSION_CREATED, data)


# --- webhooks --------------------------------------------------------------------------------


def _validated(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(fields)
    if "url" in values:
        try:
            values["url"] = urlguard.check(values["url"]).url
        except urlguard.UnsafeDestination as error:
            raise ActionError(error.message) from error
    if "events" in values:
        events = list(dict.fromkeys(values["events"] or []))
        unknown = [e for e in events if e not in Event.values and e != PING]
        if unknown:
            raise ActionError(gettext("Unknown event: %(events)s") % {
                "events": ", ".join(map(str, unknown))})
        if not events:
            raise ActionError(gettext("Choose at least one event."))
        values["events"] = events
    if not values.get("secret", True):
        values.pop("secret")  # an empty secret keeps the current one (or gets a new one)
    return values


WRITABLE = ("url", "events", "secret", "is_active", "description")


def create_webhook(account: Account, *, actor: User | None = None, **fields: Any) -> Webhook:
    values = _validated(fields)
    for required in ("url", "events"):
        if required not in values:
            raise ActionError(gettext("%(field)s is required.") % {"field": required})
    with transaction.atomic():
        webhook = Webhook(account=account, created_by=actor,
                          **{k: v for k, v in values.items() if k in WRITABLE})
        webhook.save()
        audit.record(account, "webhook.created", actor=actor, target=webhook,
                     events=webhook.events)
    return webhook


def update_webhook(webhook: Webhook, *, actor: User | None = None, **fields: Any) -> Webhook:
    values = {k: v for k, v in _validated(fields).items() if k in WRITABLE}
    with transaction.atomic():
        if values.get("is_active") and not webhook.is_active:
            webhook.failure_count = 0  # switched on again: a fresh start
        for name, value in values.items():
            setattr(webhook, name, value)
        webhook.save()
        audit.record(webhook.account, "webhook.updated", actor=actor, target=webhook,
                     fields=sorted(values))
    return webhook


def save_webhook(
    account: Account, webhook: Webhook | None, *, actor: User | None = None, **fields: Any
) -> Webhook:
    if webhook is None:
        return create_webhook(account, actor=actor, **fields)
    return update_webhook(webhook, actor=actor, **fields)


def new_webhook_secret(webhook: Webhook, *, actor: User | None = None) -> Webhook:
    return update_webhook(webhook, actor=actor, secret=new_secret())


def delete_webhook(webhook: Webhook, *, actor: User | None = None) -> None:
    with transaction.atomic():
        audit.record(webhook.account, "webhook.deleted", actor=actor, target=webhook)
        webhook.delete()


def redeliver(original: Delivery, *, actor: User | None = None) -> Delivery:
    """"Send again": the same event and data as a new delivery (a new id, so a receiver that
    deduplicates by id processes it again, as the person who pressed the button wants)."""
    webhook = original.webhook
    if not webhook.is_active:
        raise ActionError(gettext("Switch the webhook on first."))
    data = json.loads(original.body)["data"]
    with transaction.atomic():
        return _queue(webhook, original.event, data)


def send_test(webhook: Webhook) -> Delivery:
    """A ``ping`` sent now, once; the answer is on the returned delivery (and in the log)."""
    delivery = _queue(webhook, PING, {"webhook": {"id": webhook.public_id}})
    sending.deliver(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_outcome(delivery: Delivery) -> str:
    """How a test ping went, for whoever asked for it."""
    if delivery.status == Delivery.Status.SENT:
        return gettext("The test event was delivered (HTTP %(status)s).") % {
            "status": delivery.status_code}
    return gettext("The test event failed: %(error)s") % {"error": delivery.last_error}


def purge_old_deliveries(older_than: timedelta = LOG_KEPT) -> int:
    """Deletes finished deliveries older than ``older_than`` (of every account, with the
    scope disabled)."""
    return Delivery.objects.filter(created_at__lt=timezone.now() - older_than).exclude(
        status=Delivery.Status.PENDING).delete()[0]
