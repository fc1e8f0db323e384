"""Raw mail → :class:`ParsedMail`: decoded headers, the body as sanitised HTML or text, and
the attachments. Built on the standard library's ``email`` package with the modern policy.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from saruna.tickets.html import html_to_text, sanitize_html


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ParsedMail:
    from_: str = ""                 # the From header as decoded text
    from_email: str = ""            # lower case
    from_display_name: str = ""
    to: list[str] = field(default_factory=list)         # addresses, lower case
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    message_id: str = ""            # with angle brackets, as in the header
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    content_type: str = "text/plain"  # of ``body``: text/html or text/plain
    body: str = ""                  # sanitised HTML, or text
    body_text: str = ""
    quoted: str = ""                # quoted history / signature split off ``body`` (same type)
    is_auto_reply: bool = False
    is_bounce: bool = False
    bounced_recipients: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # selected raw header values

    def as_json(self) -> dict[str, Any]:
        """The ``saruna mail parse`` output."""
        data = asdict(self)
        data["from"] = data.pop("from_")
        data["date"] = self.date.isoformat() if self.date else None
        data["attachments"] = [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size,
             "content_id": a.content_id, "inline": a.inline}
            for a in self.attachments
        ]
        for key in ("quoted", "bounced_recipients", "headers"):
            data.pop(key)
        return data


def _addresses(message: EmailMessage, name: str) -> list[str]:
    values = [str(v) for v in message.get_all(name, [])]
    return [addr.lower() for _name, addr in email.utils.getaddresses(values) if addr]


def parse(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    display, address = email.utils.parseaddr(str(message.get("From", "")))
    parsed = ParsedMail(
        from_=str(message.get("From", "")),
        from_email=address.lower(),
        from_display_name=display,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        reply_to=_addresses(message, "Reply-To"),
        subject=" ".join(str(message.get("Subject", "")).split()),
        message_id=str(message.get("Message-ID", "")).strip(),
        in_reply_to=str(message.get("In-Reply-To", "")).strip(),
        references=str(message.get("References", "")).split(),
    )
    date = message.get("Date")
    if date is not None:
        try:
            parsed.date = email.utils.parsedate_to_datetime(str(date))
        except (TypeError, ValueError):
            parsed.date = None
    body = message.get_body(preferencelist=("html", "plain"))
    if body is not None:
        content = body.get_content()
        if body.get_content_type() == "text/html":
            parsed.content_type = "text/html"
            parsed.body = sanitize_html(content)
            parsed.body_text = html_to_text(parsed.body)
        else:
            parsed.body = parsed.body_text = content
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        parsed.attachments.append(ParsedAttachment(
            filename=part.get_filename() or "attachment",
            content_type=part.get_content_type(),
            content=payload,
            content_id=str(part.get("Content-ID", "")).strip("<> "),
            inline=part.get_content_disposition() == "inline",
        ))
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    parsed.is_auto_reply = auto != "no"
    parsed.is_bounce = message.get_content_type() == "multipart/report"
    return parsed
