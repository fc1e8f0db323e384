"""Fetching a mailbox over IMAP: store first, then mark as processed on the server.

For each new mail: download it without setting \\Seen (``BODY.PEEK[]``), store it with
:func:`saruna.mail.receive.store_inbound` (committed when it returns), and only then flag it
\\Seen or move it to the processed folder. A crash between storing and marking fetches the
mail again next time; processing recognises it by Message-ID and hash, so nothing is lost
and nothing is doubled.

"New" means a UID above the last one we marked. UIDs only mean something within one
UIDVALIDITY: on the first check, or when the server renumbers the folder, we take the unread
mail and continue from the folder's next UID.

:func:`watch_mailbox` keeps an IDLE connection open so mail is fetched the moment it arrives
(``saruna imapidle``); the periodic task in ``imap_tasks.py`` polls every mailbox anyway.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from imapclient import SEEN, IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.mail.models import InboundMail, Mailbox, Security
from saruna.mail.receive import MailTooLarge, store_inbound

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 15
FETCH_TIMEOUT_SECONDS = 120
# Longer than any fetch should take; if one does, an overlapping fetch only stores duplicates,
# which processing recognises.
FETCH_LEASE_SECONDS = 15 * 60
# RFC 2177: clients should renew IDLE before 29 minutes, or servers may drop them.
IDLE_RENEW_SECONDS = 25 * 60
# How often a waiting watcher looks up from IDLE to see whether it was told to stop.
STOP_CHECK_SECONDS = 1


class FolderMissing(IMAPClientError):
    def __init__(self, folder: str) -> None:
        super().__init__(folder)
        self.folder = folder


def describe_error(error: Exception, host: str, port: int) -> str:
    """What went wrong, in words a person setting up a mailbox can act on."""
    where = {"host": host, "port": port}
    if isinstance(error, socket.gaierror):
        return _("The server name “%(host)s” could not be found.") % where
    if isinstance(error, ConnectionRefusedError):
        return _("%(host)s refused the connection on port %(port)s: no IMAP server "
                 "listens there.") % where
    if isinstance(error, TimeoutError):
        return _("%(host)s did not answer on port %(port)s in time.") % where
    if isinstance(error, ssl.SSLCertVerificationError):
        return _("The server's certificate is not trusted: %(reason)s.") % {
            "reason": error.verify_message}
    if isinstance(error, ssl.SSLError):
        return _("No secure connection could be made (%(reason)s). Check the port and the "
                 "security setting.") % {"reason": error.reason or error}
    if isinstance(error, LoginError):
        return _("The server refused the user name or password: %(reply)s") % {
            "reply": _server_reply(error)}
    if isinstance(error, FolderMissing):
        return _("The folder “%(folder)s” does not exist on the server.") % {
            "folder": error.folder}
    if isinstance(error, CapabilityError) and "STARTTLS" in str(error):
        return _("The server does not offer STARTTLS. Choose SSL/TLS or another port.")
    if isinstance(error, IMAPClientError):
        return _("The server answered: %(reply)s") % {"reply": _server_reply(error)}
    return _("The connection to %(host)s broke off: %(reason)s") % {
        **where, "reason": getattr(error, "strerror", None) or error}


def _server_reply(error: Exception) -> str:
    """The server's own words: imapclient reports ``select failed: [CODE] text`` or, for a
    login, ``b'[CODE] text'``; the bracketed response code is for programs."""
    reply = str(error).split(" failed: ", 1)[-1]
    quoted = re.fullmatch(r"b(['\"])(.*)\1", reply)
    if quoted:
        reply = quoted.group(2)
    return re.sub(r"^\[[^\]]*\]\s*", "", reply)


@contextmanager
def _session(host: str, port: int, security: str, username: str, password: str,
             folder: str, *, timeout: float) -> Iterator[tuple[IMAPClient, dict[bytes, Any]]]:
    """A logged-in connection with ``folder`` selected, and the SELECT response."""
    context = ssl.create_default_context()
    client = IMAPClient(host, port=port, ssl=security == Security.SSL, ssl_context=context,
                        timeout=timeout)
    with client:  # logs out (or just closes) on the way out, whatever happened
        if security == Security.STARTTLS:
            client.starttls(context)
        client.login(username, password)
        if not client.folder_exists(folder):
            raise FolderMissing(folder)
        yield client, client.select_folder(folder)


def _mailbox_session(mailbox: Mailbox) -> AbstractContextManager[
        tuple[IMAPClient, dict[bytes, Any]]]:
    return _session(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security,
                    mailbox.imap_username, mailbox.imap_password, mailbox.imap_folder,
                    timeout=FETCH_TIMEOUT_SECONDS)


def test_connection(host: str, port: int, security: str, username: str, password: str,
                    folder: str) -> str | None:
    """``None`` when Saruna can log in and open ``folder``; otherwise what went wrong."""
    try:
        with _session(host, port, security, username, password, folder,
                      timeout=CHECK_TIMEOUT_SECONDS):
            return None
    except (IMAPClientError, OSError) as error:
        return describe_error(error, host, port)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def fetch_mailbox(mailbox: Mailbox) -> int:
    """Stores the mailbox's new mail and marks it processed on the server; returns how many
    mails were stored. Problems are saved on the mailbox in plain words (``last_error``).
    Runs inside the mailbox's account scope."""
    lease = f"{mailbox.account_id}:mail:imap-fetch:{mailbox.pk}"
    if not cache.add(lease, True, timeout=FETCH_LEASE_SECONDS):
        return 0  # another worker or the IDLE watcher is fetching this mailbox right now
    checked_at = timezone.now()
    stored = 0
    problem = ""
    try:
        with _mailbox_session(mailbox) as (client, selected):
            for _mail in _store_new_mail(client, selected, mailbox):
                stored += 1
            problem = _oversized_note(client, mailbox)
    except (IMAPClientError, OSError) as error:
        problem = describe_error(error, mailbox.imap_host, mailbox.imap_port)
        log.warning("IMAP fetch of mailbox %s failed: %s", mailbox.pk, problem)
    finally:
        cache.delete(lease)
    _save(mailbox, last_checked_at=checked_at, last_error=problem)
    return stored


def _store_new_mail(client: IMAPClient, selected: dict[bytes, Any],
                    mailbox: Mailbox) -> Iterator[InboundMail]:
    uidvalidity = selected[b"UIDVALIDITY"]
    starting_over = mailbox.imap_uidvalidity != uidvalidity
    if starting_over:
        uids = client.search(["UNSEEN"])
    else:
        after = mailbox.imap_last_uid
        # "n:*" always matches the highest UID, even when that is below n.
        uids = [uid for uid in client.search(["UID", f"{after + 1}:*"]) if uid > after]
    if _moves(mailbox) and uids and not client.folder_exists(mailbox.processed_folder):
        client.create_folder(mailbox.processed_folder)
    sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
    for uid in sorted(uids):
        mail = None
        # Too large: left unread where it is (the note below says so) rather than hidden.
        if sizes[uid][b"RFC822.SIZE"] <= settings.SARUNA_MAIL_MAX_BYTES:
            raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
            with suppress(MailTooLarge):
                mail = store_inbound(mailbox.account, raw, source=InboundMail.Source.IMAP,
                                     mailbox=mailbox)
        if mail is not None:
            _mark_processed(client, mailbox, uid)
            yield mail
        if not starting_over:
            _save(mailbox, imap_last_uid=uid)
    if starting_over:
        # Saved only once all unread mail is stored and marked: a crash before this point
        # starts over again, and what was already marked is no longer unread.
        _save(mailbox, imap_uidvalidity=uidvalidity,
              imap_last_uid=max([selected[b"UIDNEXT"] - 1, *uids]))


def _moves(mailbox: Mailbox) -> bool:
    return mailbox.processed_action == Mailbox.Processed.MOVE and bool(mailbox.processed_folder)


def _mark_processed(client: IMAPClient, mailbox: Mailbox, uid: int) -> None:
    client.add_flags([uid], [SEEN])
    if not _moves(mailbox):
        return
    if client.has_capability("MOVE"):
        client.move([uid], mailbox.processed_folder)
        return
    client.copy([uid], mailbox.processed_folder)  # raises on failure: nothing deleted then
    client.delete_messages([uid])
    # A plain EXPUNGE would also remove mail the owner deleted in their own client; without
    # UIDPLUS the copied mail stays marked deleted until their client expunges it.
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])


def _oversized_note(client: IMAPClient, mailbox: Mailbox) -> str:
    """Asked on every check, so the note stays until someone reads or removes those mails."""
    limit = settings.SARUNA_MAIL_MAX_BYTES
    count = len(client.search(["UNSEEN", "LARGER", str(limit)]))
    if not count:
        return ""
    return ngettext(
        "%(count)d unread mail in “%(folder)s” is larger than %(limit)s and was not "
        "fetched; it is still there.",
        "%(count)d unread mails in “%(folder)s” are larger than %(limit)s and were not "
        "fetched; they are still there.",
        count,
    ) % {"count": count, "folder": mailbox.imap_folder, "limit": filesizeformat(limit)}


def _save(mailbox: Mailbox, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(mailbox, name, value)
    mailbox.save(update_fields=list(fields))


@in_account
def watch_mailbox(account: Account, mailbox_id: int, stop: threading.Event) -> None:
    """Fetches the mailbox whenever the server announces new mail (IDLE) and at least every
    ``poll_seconds``. Servers without IDLE are simply polled. Returns once ``stop`` is set or
    the mailbox is no longer an active IMAP mailbox that wants IDLE."""
    try:
        while not stop.is_set() and _fetch_and_wait(mailbox_id, stop):
            pass
    finally:
        connection.close()  # the watcher thread's own database connection


def _fetch_and_wait(mailbox_id: int, stop: threading.Event) -> bool:
    """One fetch and one wait for news; ``False`` when the mailbox is no longer watched."""
    close_old_connections()
    mailbox = Mailbox.objects.filter(pk=mailbox_id, kind=Mailbox.Kind.IMAP, is_active=True,
                                     use_idle=True).first()
    if mailbox is None:
        return False
    waited = False
    try:
        with _mailbox_session(mailbox) as (client, selected):
            # Fetched only now that the folder is selected here: mail arriving from now on is
            # announced to this connection, mail from before is fetched.
            fetch_mailbox(mailbox)
            if client.has_capability("IDLE"):
                _wait_for_new_mail(client, selected[b"EXISTS"], mailbox, stop)
                waited = True
    except (IMAPClientError, OSError) as error:
        log.info("IDLE on mailbox %s: %s", mailbox.pk, error)
        fetch_mailbox(mailbox)  # notes the problem on the mailbox, or gets past it
    if not waited:  # no IDLE, or it broke off: poll
        stop.wait(mailbox.poll_seconds)
    return True


def _wait_for_new_mail(client: IMAPClient, count: int, mailbox: Mailbox,
                       stop: threading.Event) -> None:
    """Returns when the folder holds more mail than ``count``, after ``poll_seconds``, or
    when told to stop. Our own flags and moves only bring FETCH and EXPUNGE news."""
    deadline = time.monotonic() + min(mailbox.poll_seconds, IDLE_RENEW_SECONDS)
    client.idle()
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            for response in client.idle_check(timeout=STOP_CHECK_SECONDS):
                if response[1:2] == (b"EXPUNGE",):
                    count -= 1
                elif response[1:2] == (b"EXISTS",):
                    if response[0] > count:
                        return
                    count = response[0]
    finally:
        client.idle_done()
