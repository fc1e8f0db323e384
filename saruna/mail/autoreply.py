"""Was a mail sent by a machine? Header rules after Zammad's, so that we never answer an
automatic mail (vacation reply, bounce, mailing list, another help desk) with one of ours and
start a loop.

:func:`automatic_reasons` reads only headers: the parser calls it with the ones it keeps in
``ParsedMail.headers`` (lower-case names), loop protection may call it with an
``email.message.Message`` as well.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from email.message import Message

# The headers the rules read; the parser keeps their decoded values in ``ParsedMail.headers``.
HEADERS = (
    "from", "return-path", "content-type", "auto-submitted", "precedence", "x-loop",
    "x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id",
)
_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Microsoft's way of saying "I am automatic, don't answer me" (values: All, OOF, AutoReply...).
_SUPPRESS = {"all", "oof", "autoreply"}
_MACHINE_SENDER = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[+._-][^@]*)?@",
    re.IGNORECASE,
)


_BRACKETED = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def is_machine_sender(address: str) -> bool:
    """mailer-daemon@, postmaster@, noreply@, no-reply+x@, donotreply@ ..."""
    return bool(_MACHINE_SENDER.match(address.strip()))


def automatic_reasons(headers: Mapping[str, str] | Message) -> list[str]:
    """Why the mail looks automatic, one short reason per rule that fired (empty: a person
    wrote it). Header names are looked up in lower case."""

    def value(name: str) -> str:
        found = headers.get(name)
        return " ".join(str(found).split()) if found is not None else ""

    reasons = []
    auto_submitted = value("auto-submitted")
    if auto_submitted and auto_submitted.split(";")[0].strip().lower() != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    precedence = value("precedence")
    if precedence.lower() in _PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    for name in ("X-Loop", "X-Autoreply", "X-Autorespond", "List-Id"):
        if found := value(name.lower()):
            reasons.append(f"{name}: {found}")
    suppress = value("x-auto-response-suppress")
    if _SUPPRESS & {token.strip().lower() for token in suppress.split(",")}:
        reasons.append(f"X-Auto-Response-Suppress: {suppress}")
    content_type = value("content-type").lower()
    if content_type.startswith("multipart/report"):
        reasons.append("report (delivery status or read receipt)")
    # RFC 3834: automatic responses are sent with an empty envelope sender.
    if value("return-path") == "<>":
        reasons.append("Return-Path: <>")
    sender_header = value("from")
    bracketed = _BRACKETED.search(sender_header)  # decoded names may hold commas and quotes
    sender = bracketed.group(1) if bracketed else email.utils.parseaddr(sender_header)[1]
    if is_machine_sender(sender):
        reasons.append(f"sender {sender.lower()}")
    return reasons
