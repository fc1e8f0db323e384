"""Mail to customers: agent replies, and the acknowledgement of a ticket opened by mail.

A mail is stored as an :class:`OutgoingMail` in the transaction that stores the reply, so a
reply is never mailed without being kept nor kept without being mailed. It is composed when it
is sent — body, attachments and threading headers are read from the ticket — and delivered by
the outbox's loop (lease, retries with backoff, dead letter) through the mailbox's own SMTP
server, or the installation's when the mailbox names none.

Headers are built with the standard library's modern policy from text made one line first, so
no name or subject can add a header of its own.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import smtplib
import socket
import ssl
import unicodedata
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, cast

import dkim
from django.conf import settings
from django.core import mail as django_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django_scopes import scopes_disabled

from saruna.core import outbox
from saruna.core.outbox import DeliveryError
from saruna.core.tenancy import enqueue_on_commit
from saruna.mail import loops, tokens
from saruna.mail.models import BouncingAddress, Mailbox, OutgoingMail, Security
from saruna.mail.parser import ParsedMail
from saruna.mail.quotes import REPLY_MARKER
from saruna.portal.links import ticket_url
from saruna.tickets import queries
from saruna.tickets.html import html_to_text, with_remote_images
from saruna.tickets.inbox_actions import text_to_html
from saruna.tickets.models import (
    GroupType,
    MessageFormat,
    MessageGroup,
    MessageType,
    StoredFile,
    Ticket,
)
from saruna.tickets.signals import DEFAULT_MAIL, MailOptions, agent_replied

# Only an e-mail reply is mailed: chat, call and social replies reach the customer on their
# own channel, and notes never leave the help desk.
MAILED_GROUP_TYPES = frozenset({GroupType.OUTGOING_EMAIL})
# An address that bounced this often lately is not mailed again (the bounce may be passing).
BOUNCES_TO_STOP = 3
BOUNCE_MEMORY = timedelta(days=30)
# References keeps the thread's first mail and the latest ones (RFC 5322 §3.6.4 allows
# trimming); a long ticket must not grow a header of hundreds of ids.
MAX_REFERENCES = 20
SMTP_TIMEOUT = 30
# A Message-ID we may repeat in a header: printable ASCII without spaces or angle brackets.
_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")


def one_line(text: str) -> str:
    """``text`` fit for a header: control characters and line or paragraph separators become
    spaces and runs of white space one space."""
    return " ".join(
        "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text).split()
    )


def _address(name: str, address: str) -> str:
    return str(Address(display_name=one_line(name), addr_spec=address))


# --- storing ---------------------------------------------------------------------------------


@receiver(agent_replied, dispatch_uid="mail.queue_reply")
def _mail_agent_reply(sender: object, group: MessageGroup, mail: MailOptions = DEFAULT_MAIL,
                      **kwargs: Any) -> None:
    queue_reply(group, mail)


def queue_reply(group: MessageGroup, options: MailOptions = DEFAULT_MAIL) -> OutgoingMail | None:
    """Stores the mail of an agent's reply (copied and templated as ``options`` say); it is
    sent once the caller's transaction commits. None when the reply is not mailed: not an
    e-mail reply, a mail already (its Message-ID came with it), or a customer without an
    address."""
    ticket = group.ticket
    if group.type not in MAILED_GROUP_TYPES or group.mail_msg_id or not ticket.owner_email:
        return None
    account = ticket.account
    group.mail_msg_id = tokens.new_message_id(account, ticket.public_id)
    group.save(update_fields=["mail_msg_id"])
    agent = group.author_user
    sender = f"{agent.full_name} ({account.name})" if agent is not None else account.name
    return _queue(ticket, group, queries.reply_subject(group), sender, group.mail_msg_id,
                  options)


def send_acknowledgement(ticket: Ticket, parsed: ParsedMail) -> OutgoingMail | None:
    """Tells the customer whose mail ``parsed`` opened ``ticket`` that it arrived (the ticket
    code and its portal link), unless answering it automatically could start a loop."""
    account = ticket.account
    if not ticket.owner_email or not loops.may_auto_reply(
        account=account, parsed=parsed, ticket=ticket
    ):
        return None
    with translation.override(_language(ticket)):
        subject = render_to_string("mail/acknowledgement_subject.txt", {"ticket": ticket})
    message_id = tokens.new_message_id(account, ticket.public_id)
    return _queue(ticket, None, subject, account.name, message_id)


def _queue(
    ticket: Ticket, group: MessageGroup | None, subject: str, sender: str, message_id: str,
    options: MailOptions = DEFAULT_MAIL,
) -> OutgoingMail:
    """An outgoing mail of ``group`` (an agent reply) or, without one, the acknowledgement."""
    mailbox = sending_mailbox(ticket)
    address = mailbox.email if mailbox else parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    subject = one_line(subject)
    if f"[#{ticket.code}]" not in subject:
        subject = f"{subject} [#{ticket.code}]"
    mail = OutgoingMail.objects.create(
        account_id=ticket.account_id, group=group, ticket=ticket, mailbox=mailbox,
        message_id=message_id, from_email=_address(sender, address), to=[ticket.owner_email],
        cc=list(options.cc), bcc=list(options.bcc), use_template=options.use_template,
        subject=subject, is_automatic=group is None,
    )
    _deliver_on_commit(mail)
    return mail


def _deliver_on_commit(mail: OutgoingMail) -> None:
    # Imported here: the tasks module imports this one.
    from saruna.mail.sending_tasks import deliver_outgoing_mail

    enqueue_on_commit(deliver_outgoing_mail, mail.account_id, mail.pk)


def sending_mailbox(ticket: Ticket) -> Mailbox | None:
    """The ticket's department's mailbox, else the account's first; None: the installation's
    default sender."""
    active = Mailbox.objects.filter(is_active=True).order_by("pk")
    return active.filter(department_id=ticket.department_id).first() or active.first()


def retry(mail_id: int) -> None:
    """One more attempt for a mail that failed for good (someone fixed the cause)."""
    mail = OutgoingMail.objects.get(pk=mail_id)
    if mail.status == OutgoingMail.Status.SENT:
        return
    OutgoingMail.objects.filter(pk=mail.pk).update(
        status=OutgoingMail.Status.PENDING, next_attempt_at=timezone.now()
    )
    _deliver_on_commit(mail)


# --- composing -------------------------------------------------------------------------------


def _language(ticket: Ticket) -> str:
    """The customer's language when we speak it, else the account's."""
    spoken = {code for code, _name in settings.LANGUAGES}
    owner = ticket.owner
    if owner is not None and owner.language in spoken:
        return owner.language
    return ticket.account.language if ticket.account.language in spoken else settings.LANGUAGE_CODE


def compose(mail: OutgoingMail) -> bytes:
    """The mail as it goes on the wire (CRLF lines), DKIM-signed when its mailbox has a key."""
    ticket = mail.ticket
    if ticket is None:
        raise DeliveryError(gettext("The ticket was deleted before its mail was sent."),
                            permanent=True)
    account = ticket.account
    context: dict[str, Any] = {
        "marker": REPLY_MARKER, "ticket": ticket, "account": account,
        "ticket_url": ticket_url(ticket),
    }
    files: list[StoredFile] = []
    if mail.is_automatic:
        template = "mail/acknowledgement"
    elif mail.group is None:
        raise DeliveryError(gettext("The reply was deleted before it was sent."), permanent=True)
    else:
        template = "mail/reply" if mail.use_template else "mail/reply_bare"
        context["html"], context["text"] = _reply_body(mail.group)
        files = list(StoredFile.objects.filter(message__group=mail.group).order_by("pk"))

    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = mail.from_email
    message["To"] = [
        Address(display_name=one_line(ticket.owner_name), addr_spec=address)
        for address in mail.to
    ]
    if mail.cc:
        message["Cc"] = mail.cc
    message["Reply-To"] = tokens.reply_address(account, ticket.public_id)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = mail.message_id
    in_reply_to, references = _thread(mail, ticket)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(references)
    if mail.is_automatic:
        # RFC 3834; the second stops Exchange's out-of-office answering an automatic mail.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(render_to_string(f"{template}.txt", context))
    message.add_alternative(render_to_string(f"{template}.html", context), subtype="html")
    for stored in files:
        maintype, _slash, subtype = stored.content_type.partition("/")
        with stored.file.open("rb") as content:
            message.add_attachment(
                content.read(), maintype=maintype, subtype=subtype or "octet-stream",
                filename=one_line(stored.name) or "file",
            )
    return _signed(message.as_bytes(), mail.mailbox)


def _reply_body(group: MessageGroup) -> tuple[str, str]:
    """The reply's HTML (sanitised when stored) and its text."""
    parts = group.messages.filter(type=MessageType.MESSAGE).order_by("datecreated", "pk")
    html = "".join(
        m.body if m.format == MessageFormat.HTML else text_to_html(m.body) for m in parts
    )
    # Sanitised when the ticket actions stored it.
    return mark_safe(with_remote_images(html)), html_to_text(html)


def _thread(mail: OutgoingMail, ticket: Ticket) -> tuple[str, list[str]]:
    """In-Reply-To and References: the mails of the ticket before this one, the customer's
    latest being the one answered. An acknowledgement answers the mail that opened the
    ticket."""
    groups = ticket.groups.exclude(mail_msg_id="").order_by("sort_order", "pk")
    if mail.group is not None:
        groups = groups.filter(sort_order__lt=mail.group.sort_order)
    else:
        groups = groups[:1]
    earlier = [
        (message_id, contact_id is not None)
        for message_id, contact_id in groups.values_list("mail_msg_id", "author_contact_id")
        if _MESSAGE_ID.fullmatch(message_id)
    ]
    if not earlier:
        return "", []
    from_customer = [message_id for message_id, by_customer in earlier if by_customer]
    answered = from_customer[-1] if from_customer else earlier[-1][0]
    # The answered mail last, as if its own References had been extended (RFC 5322 §3.6.4).
    chain = [*dict.fromkeys(m for m, _by in earlier if m != answered), answered]
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1):]
    return answered, chain


def _signed(raw: bytes, mailbox: Mailbox | None) -> bytes:
    if mailbox is None or not (mailbox.dkim_selector and mailbox.dkim_private_key):
        return raw
    domain = mailbox.email.rpartition("@")[2]
    try:
        signature = dkim.sign(
            raw, mailbox.dkim_selector.encode(), domain.encode(),
            mailbox.dkim_private_key.encode(), canonicalize=(b"relaxed", b"relaxed"),
        )
    except dkim.DKIMException as error:
        raise DeliveryError(
            gettext("The mailbox's DKIM key cannot sign: %(error)s") % {"error": error}
        ) from error
    return signature + raw


class _ExactBytes(EmailMessage):
    """A parsed mail that serialises to the bytes it was parsed from (a signature covers
    them), whatever a mail backend asks for."""

    raw = b""

    def as_bytes(self, unixfrom: bool = False, policy: Any = None, linesep: Any = None) -> bytes:
        return self.raw


class ComposedMail(django_mail.EmailMessage):
    """Hands bytes we composed to any Django mail backend (SMTP, console, test outbox)."""

    def __init__(self, raw: bytes, envelope_from: str, recipients: list[str]) -> None:
        super().__init__(from_email=envelope_from, to=recipients)
        self.raw = raw

    def message(self, **kwargs: Any) -> Any:
        parsed = cast(_ExactBytes, email.message_from_bytes(
            self.raw, _class=_ExactBytes, policy=email.policy.SMTP
        ))
        parsed.raw = self.raw
        return parsed


# --- delivering ------------------------------------------------------------------------------


def deliver(mail_id: int) -> None:
    """One delivery attempt (the outbox's loop: lease, retries with backoff, dead letter)."""
    outbox.deliver_with_retries(OutgoingMail, mail_id, _send)


def due_mail() -> list[tuple[str, int]]:
    """``(account id, mail id)`` of the mail waiting for an attempt, in all accounts."""
    with scopes_disabled():
        return list(outbox.due(OutgoingMail).values_list("account_id", "pk")[:500])


def _send(mail: OutgoingMail) -> None:
    with translation.override(_language(mail.ticket) if mail.ticket else None):
        recipients = _not_bouncing(mail.to + mail.cc + mail.bcc)
        raw = compose(mail)
        backend = _backend(mail.mailbox)
        try:
            backend.send_messages([ComposedMail(raw, parseaddr(mail.from_email)[1], recipients)])
        except smtplib.SMTPRecipientsRefused as error:
            for address, (code, text) in error.recipients.items():
                if code >= 500:
                    BouncingAddress.record(mail.account_id, address, _smtp_text(code, text))
            refused_for_good = all(code >= 500 for code, _text in error.recipients.values())
            raise DeliveryError(smtp_error_in_words(error, _server(backend)),
                                permanent=refused_for_good) from error
        except OSError as error:
            raise DeliveryError(smtp_error_in_words(error, _server(backend))) from error


def _smtp_text(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"


def _not_bouncing(addresses: list[str]) -> list[str]:
    bouncing = {
        b.email.lower(): b for b in BouncingAddress.objects.filter(
            email__in=[a.lower() for a in addresses], bounces__gte=BOUNCES_TO_STOP,
            last_bounce_at__gte=timezone.now() - BOUNCE_MEMORY,
        )
    }
    kept = [a for a in addresses if a.lower() not in bouncing]
    if not kept:
        first = next(iter(bouncing.values()))
        raise DeliveryError(gettext(
            "Not sent: mail to %(address)s bounced %(count)d times in the last %(days)d days"
            " (%(reason)s). Correct the customer's address, or retry once it works again."
        ) % {"address": first.email, "count": first.bounces, "days": BOUNCE_MEMORY.days,
             "reason": first.reason or gettext("no reason given")}, permanent=True)
    return kept


def _backend(mailbox: Mailbox | None) -> BaseEmailBackend:
    if mailbox is None or not mailbox.smtp_host:
        return django_mail.get_connection()
    return _smtp_backend(mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security,
                         mailbox.smtp_username, mailbox.smtp_password)


def _smtp_backend(
    host: str, port: int, security: str, username: str, password: str
) -> SMTPBackend:
    # Blank credentials stay blank: a mailbox never logs in with the installation's.
    return SMTPBackend(
        host=host, port=port, username=username, password=password,
        use_tls=security == Security.STARTTLS, use_ssl=security == Security.SSL,
        timeout=SMTP_TIMEOUT,
    )


def _server(backend: BaseEmailBackend) -> str:
    host, port = getattr(backend, "host", ""), getattr(backend, "port", "")
    return f"{host}:{port}" if host else gettext("the mail server")


# --- the settings' "test connection" ---------------------------------------------------------


def test_smtp(host: str, port: int, security: str, username: str, password: str) -> str | None:
    """Connects, secures and logs in as sending would: None when that works, else what went
    wrong in plain words."""
    backend = _smtp_backend(host, port, security, username, password)
    try:
        backend.open()
    except OSError as error:
        return smtp_error_in_words(error, f"{host}:{port}")
    finally:
        with contextlib.suppress(OSError):
            backend.close()
    return None


def _server_reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {one_line(text)}"


def smtp_error_in_words(error: OSError, server: str) -> str:
    """What a failed SMTP conversation means, for the people who set up the mailbox."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return gettext("The server refused the user name or password (%(reply)s).") % {
            "reply": _server_reply(error.smtp_code, error.smtp_error)}
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return gettext("The server does not offer STARTTLS on this port; choose SSL/TLS, or "
                       "another port.")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = (f"{address} {_server_reply(code, text)}"
                    for address, (code, text) in error.recipients.items())
        return gettext("The server refused the recipient: %(reply)s") % {
            "reply": "; ".join(refusals)}
    if isinstance(error, smtplib.SMTPResponseException):
        return gettext("The server answered: %(reply)s") % {
            "reply": _server_reply(error.smtp_code, error.smtp_error)}
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return gettext("%(server)s closed the connection; check the port and the security "
                       "setting.") % {"server": server}
    if isinstance(error, ConnectionRefusedError):
        return gettext("Nothing answers at %(server)s; check the server name and the port.") % {
            "server": server}
    if isinstance(error, socket.gaierror):
        return gettext("The server name in %(server)s was not found.") % {"server": server}
    if isinstance(error, TimeoutError):
        return gettext("%(server)s did not answer in time; check the server name, the port and "
                       "the security setting.") % {"server": server}
    if isinstance(error, ssl.SSLCertVerificationError):
        return gettext("The server's certificate is not trusted: %(reason)s") % {
            "reason": error.verify_message or error.reason}
    if isinstance(error, ssl.SSLError):
        return gettext("The secure connection to %(server)s failed (%(reason)s); check the "
                       "security setting for this port.") % {
            "server": server, "reason": error.reason or error}
    return gettext("Could not talk to %(server)s: %(error)s") % {
        "server": server, "error": one_line(str(error))}

