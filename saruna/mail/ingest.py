"""Processing one stored inbound mail: parse it, then add it to the ticket it continues or
open a new one. Runs inside the mail's account scope (the task and the sweep see to it).

:func:`process` is idempotent and safe to run twice at once: it claims the row (state
``received``) with a row lock in the transaction that also writes the ticket message and the
final state, so a second worker waits and then finds the mail done, and a worker that dies
half-way leaves the row ``received`` for the sweep (``tasks.process_stranded_mail``).

What becomes of a mail (``InboundMail.state``; ``error`` says why for all but processed):

- ``duplicate``: the same bytes, or the same Message-ID from the same sender, were processed
  before (one mail delivered twice, or through two of our mailboxes); it points at the ticket
  of the first and adds nothing;
- ``ignored``: our own mail come back (:func:`saruna.mail.loops.is_own_mail`);
- ``processed``: a delivery report (bounce) becomes a note on the ticket of the mail it is
  about and marks the address as bouncing; any other mail joins its ticket
  (:mod:`saruna.mail.threading`) or opens one;
- ``failed``: the error and where it happened, for the dead-letter list; :func:`replay` runs
  the mail again once the cause is fixed.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import html
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_scopes import scope, scopes_disabled

from saruna.contacts.actions import find_or_create_contact_by_email
from saruna.contacts.common import ActionError
from saruna.core.models import Account
from saruna.mail import loops, sending, threading
from saruna.mail.models import BouncingAddress, InboundMail
from saruna.mail.parser import ParsedAttachment, ParsedMail, parse
from saruna.tickets import actions
from saruna.tickets.models import ChannelType, MessageFormat, StoredFile, Ticket

logger = logging.getLogger(__name__)

State = InboundMail.State
# Sweeps that found a mail still waiting (its worker died, or the database went away)
# before it is given up as failed instead of being retried by every sweep.
MAX_ATTEMPTS = 5
# Frames of the traceback kept with a failure: enough to see where, short enough to read.
TRACEBACK_FRAMES = 4
NAME_CHARS = 100


@dataclass
class Outcome:
    state: str
    ticket_id: int | None = None
    group_id: int | None = None
    note: str = ""


def process(inbound_id: int) -> str | None:
    """Processes the stored mail once. Answers the state it leaves the mail in, or None when
    the mail was not waiting (done already, or finished by another worker meanwhile)."""
    with transaction.atomic():
        mail = (
            InboundMail.objects.select_for_update(of=("self",))
            .select_related("account", "mailbox__department")
            .filter(pk=inbound_id, state=State.RECEIVED)
            .first()
        )
        if mail is None:
            return None
        if mail.attempts >= MAX_ATTEMPTS:
            outcome = Outcome(State.FAILED, note=gettext(
                "Processing was interrupted %(n)d times (the worker stopped or the database "
                "failed). Replay the mail once the cause is fixed."
            ) % {"n": MAX_ATTEMPTS})
        else:
            outcome = _process_claimed(mail)
        mail.state, mail.error = outcome.state, outcome.note
        mail.ticket_id, mail.group_id = outcome.ticket_id, outcome.group_id
        mail.processed_at = timezone.now()
        mail.save(update_fields=[
            "state", "ticket", "group", "error", "processed_at", "from_email", "recipients",
        ])
    return mail.state


def process_stranded(inbound_id: int) -> str | None:
    """:func:`process` for the sweep, which finds mails whose first try never finished."""
    # Counted in its own commit, before the work: a mail that kills its worker every time
    # is given up after MAX_ATTEMPTS sweeps instead of taking a worker down every minute.
    InboundMail.objects.filter(pk=inbound_id, state=State.RECEIVED).update(
        attempts=F("attempts") + 1
    )
    return process(inbound_id)


def replay(inbound_id: int) -> str:
    """Runs a failed (or still waiting) mail again; answers one line saying what became of
    it. Works from any scope: it finds the mail's account itself."""
    with scopes_disabled():
        mail = InboundMail.objects.select_related("account").filter(pk=inbound_id).first()
    if mail is None:
        return gettext("There is no inbound mail %(id)s.") % {"id": inbound_id}
    with scope(account=mail.account):
        restarted = InboundMail.objects.filter(
            pk=mail.pk, state__in=(State.FAILED, State.RECEIVED)
        ).update(state=State.RECEIVED, attempts=0, error="")
        if not restarted:
            return gettext("Mail %(id)s is %(state)s already; nothing to replay.") % {
                "id": mail.pk, "state": mail.get_state_display().lower()}
        process(mail.pk)
        mail.refresh_from_db()
        ticket = Ticket.objects.filter(pk=mail.ticket_id).values_list("code", flat=True).first()
    if mail.state == State.FAILED:
        return gettext("Mail %(id)s failed again: %(error)s") % {
            "id": mail.pk, "error": mail.error.splitlines()[0]}
    done = {"id": mail.pk, "state": mail.get_state_display(), "code": ticket}
    if ticket is None:
        return gettext("Mail %(id)s: %(state)s.") % done
    return gettext("Mail %(id)s: %(state)s. Ticket %(code)s.") % done


def _process_claimed(mail: InboundMail) -> Outcome:
    """The outcome for a claimed mail; nothing of a failed attempt stays written."""
    try:
        with transaction.atomic(), translation.override(mail.account.language):
            return _route(mail)
    except (OperationalError, InterfaceError):
        raise  # the database, not the mail: the task's retries and the sweep try again
    except Exception as error:
        logger.warning("Inbound mail %s failed: %s", mail.pk, error, exc_info=True)
        return Outcome(State.FAILED, note=_failure_text(error))


def _route(mail: InboundMail) -> Outcome:
    parsed = parse(bytes(mail.raw))
    mail.from_email = parsed.from_email[:254]
    mail.recipients = list(dict.fromkeys(
        a.lower() for a in [*parsed.to, *parsed.cc, *mail.envelope_to]
    ))
    original = _original_of(mail)
    if original is not None:
        same = original.sha256 == mail.sha256
        note = (
            gettext("The same mail as mail %(id)s.") if same else
            gettext("Same Message-ID and sender as mail %(id)s, different bytes.")
        ) % {"id": original.pk}
        return Outcome(State.DUPLICATE, original.ticket_id, original.group_id, note)
    if loops.is_own_mail(mail.account, parsed):
        return Outcome(State.IGNORED, note=gettext("Our own mail, come back."))
    if parsed.is_bounce:
        return _record_bounce(mail, parsed)
    return _deliver(mail, parsed)


def _original_of(mail: InboundMail) -> InboundMail | None:
    """An earlier processed copy of ``mail``: the same bytes, or the same Message-ID from the
    same sender (a stranger reusing someone's Message-ID cannot suppress their mail)."""
    same_key = Q(message_id=mail.message_id) if mail.message_id else Q(sha256=mail.sha256)
    others = InboundMail.objects.filter(same_key).exclude(pk=mail.pk)
    if not others.exists():
        return None
    # Copies processed at once all lock the first row with their key, so one goes ahead and
    # the others wait for its commit, then see it processed.
    InboundMail.objects.select_for_update().filter(same_key).order_by("pk").values_list(
        "pk", flat=True
    ).first()
    matches = Q(sha256=mail.sha256)
    if mail.message_id:
        matches |= Q(message_id=mail.message_id, from_email=mail.from_email)
    return (
        others.filter(matches, state__in=(State.PROCESSED, State.IGNORED))
        .only("sha256", "ticket_id", "group_id").order_by("pk").first()
    )


def _deliver(mail: InboundMail, parsed: ParsedMail) -> Outcome:
    account = mail.account
    sender = parsed.from_email or mail.envelope_from.lower()
    if not sender:
        raise ValueError(gettext("The mail names no sender (no From, no envelope sender)."))
    # Cut to what a contact's first and last name hold: a spammer's novel is no reason to fail.
    name = " ".join(parsed.from_display_name.split())[:NAME_CHARS]
    contact, created = find_or_create_contact_by_email(account, sender, name=name)
    ticket = threading.find_ticket(account, parsed, mail.envelope_to)
    earlier = None
    if ticket is not None and ticket.status in threading.CLOSED_TO_MAIL:
        earlier, ticket = ticket, None
    if ticket is None and not created and not loops.may_open_ticket(contact):
        ticket = loops.flood_ticket(contact)
    stored, too_large = _store_files(account, parsed)
    files = [file for _attachment, file in stored]
    body, quoted, format = _body(parsed, stored)
    if not body.strip() and not files:
        body, quoted = parsed.subject or gettext("(The mail has no text.)"), ""
        format = MessageFormat.TEXT
    if ticket is not None:
        group = actions.add_customer_message(
            ticket, contact, body, format=format, files=files, quoted=quoted,
            mail_msg_id=parsed.message_id[:998], date_created=mail.received_at,
        )
    else:
        ticket = actions.open_ticket(
            account, parsed.subject, body, contact, ChannelType.EMAIL,
            department=mail.mailbox.department if mail.mailbox else None, format=format,
            files=files, quoted=quoted, mail_msg_id=parsed.message_id[:998],
            date_created=mail.received_at,
        )
        group = ticket.groups.get()
        sending.send_acknowledgement(ticket, parsed)  # unless answering could start a loop
    if earlier is not None:
        actions.add_internal_note(ticket, None, gettext(
            "A reply to ticket %(code)s, which takes no more messages; opened as a new ticket."
        ) % {"code": earlier.code}, format=MessageFormat.TEXT)
    if too_large:
        actions.add_internal_note(ticket, None, gettext(
            "Attachments too large to keep: %(names)s. The original mail (mail %(id)s) has them."
        ) % {"names": ", ".join(too_large), "id": mail.pk}, format=MessageFormat.TEXT)
    return Outcome(State.PROCESSED, ticket.pk, group.pk)


def _store_files(
    account: Account, parsed: ParsedMail
) -> tuple[list[tuple[ParsedAttachment, StoredFile]], list[str]]:
    """The mail's attachments stored, each with its file; and the names of those too large."""
    stored, too_large = [], []
    for attachment in parsed.attachments:
        try:
            file = actions.store_file(account, attachment.filename, attachment.content)
            stored.append((attachment, file))
        except ActionError as error:
            if error.code != "too_large":
                raise
            too_large.append(attachment.filename)
    return stored, too_large


def _body(
    parsed: ParsedMail, stored: list[tuple[ParsedAttachment, StoredFile]]
) -> tuple[str, str, str]:
    """Text, quoted history and message format; an HTML body's inline images (``cid:``)
    point at their stored files."""
    if parsed.content_type != "text/html":
        return parsed.body, parsed.quoted, MessageFormat.TEXT
    body, quoted = parsed.body, parsed.quoted
    for attachment, file in stored:
        if attachment.content_id:
            cid = f'src="cid:{html.escape(attachment.content_id)}"'
            url = f'src="/files/{file.public_id}/view"'
            body, quoted = body.replace(cid, url), quoted.replace(cid, url)
    return body, quoted, MessageFormat.HTML


def _record_bounce(mail: InboundMail, parsed: ParsedMail) -> Outcome:
    """A delivery report: a note on the ticket of the mail that bounced, and the recipients
    marked as bouncing. Reports about mail we never sent change nothing."""
    bounced_ids, reasons = _delivery_report(bytes(mail.raw))
    ticket = threading.ticket_for_bounce(mail.account, bounced_ids)
    if ticket is None:
        return Outcome(State.PROCESSED, note=gettext("A delivery report about no mail of ours."))
    now = timezone.now()
    for address in parsed.bounced_recipients:
        reason = reasons.get(address, "")
        updated = BouncingAddress.objects.filter(email=address).update(
            bounces=F("bounces") + 1, last_bounce_at=now, reason=reason
        )
        if not updated:
            BouncingAddress.objects.create(
                account=mail.account, email=address, reason=reason, last_bounce_at=now
            )
    if ticket.status in actions.CLOSED_TO_MESSAGES:
        return Outcome(State.PROCESSED, ticket.pk)
    lines = [gettext("Mail to %(addresses)s could not be delivered.") % {
        "addresses": ", ".join(parsed.bounced_recipients) or gettext("(unknown)")}]
    lines += [f"{address}: {reason}" for address, reason in reasons.items() if reason]
    group = actions.add_internal_note(
        ticket, None, "\n".join(lines), format=MessageFormat.TEXT
    )
    return Outcome(State.PROCESSED, ticket.pk, group.pk)


def _delivery_report(raw: bytes) -> tuple[list[str], dict[str, str]]:
    """From a delivery status notification (RFC 3464): the Message-IDs of the returned mail
    (its attached copy or headers) and the diagnostic per failed recipient."""
    report = email.message_from_bytes(raw, policy=email.policy.default)
    message_ids: list[str] = []
    reasons: dict[str, str] = {}
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            # The per-message fields, then one block of fields per recipient.
            for block in part.get_payload():
                assert isinstance(block, email.message.Message)
                recipient = str(block.get("Final-Recipient", "")).rpartition(";")[2].strip()
                if recipient and str(block.get("Action", "")).strip().lower() == "failed":
                    diagnostic = str(block.get("Diagnostic-Code") or block.get("Status") or "")
                    reasons[recipient.lower()] = " ".join(diagnostic.split())[:500]
        elif kind in ("message/rfc822", "text/rfc822-headers"):
            content = part.get_content()  # a message, or its headers as text
            returned = content if kind == "message/rfc822" else email.message_from_string(
                content, policy=email.policy.default
            )
            message_ids.extend(threading.message_ids_in(str(returned.get("Message-ID", ""))))
    return message_ids, reasons


def _failure_text(error: BaseException) -> str:
    """``Error: message`` and the innermost frames, innermost first."""
    frames = traceback.extract_tb(error.__traceback__)[-TRACEBACK_FRAMES:]
    where = [f"  at {Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames)]
    return "\n".join([f"{type(error).__name__}: {error}", *where])
