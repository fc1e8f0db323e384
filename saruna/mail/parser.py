"""Raw mail → :class:`ParsedMail`: decoded headers, the body as sanitised HTML or text (the
reply apart from the quoted history), the attachments, and whether a machine sent it.

:func:`parse` never raises: whatever arrives, a help desk must show something. It is built on
the standard library's ``email`` parser with a policy that hands header values over raw;
the decoding is ours, because mail clients break the rules in ways the modern policy's
header objects either reject or turn into U+FFFD: 8-bit headers in an undeclared charset,
encoded words split in the middle of a UTF-8 sequence, mislabelled and unknown charsets.
Every text that comes out is valid Unicode without NUL, and every header-derived value
(subject, names, filenames) is a single line.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import email
import email.generator
import email.parser
import email.utils
import functools
import hashlib
import mimetypes
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.errors import MissingHeaderBodySeparatorDefect
from email.message import Message
from email.policy import Compat32
from html import escape, unescape
from io import BytesIO
from typing import Any

import tnefparse

from saruna.mail import autoreply, quotes
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
    date: datetime | None = None    # UTC
    message_id: str = ""            # with angle brackets, as in the header
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    content_type: str = "text/plain"  # of ``body``: text/html or text/plain
    body: str = ""                  # sanitised HTML, or text: the reply, without ``quoted``
    body_text: str = ""             # the reply as plain text (the mail's own text part if any)
    quoted: str = ""                # quoted history / signature split off ``body`` (same type)
    is_auto_reply: bool = False
    auto_reply_reasons: list[str] = field(default_factory=list)
    is_bounce: bool = False
    bounced_recipients: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # autoreply.HEADERS, decoded

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
        data.pop("headers")
        return data


class _RawHeaders(Compat32):
    """Header values exactly as received (undeclared 8-bit bytes as surrogate escapes), for
    :func:`header_text` to decode; compat32 would wrap those in lossy ``Header`` objects."""

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        # The stdlib reads MIME parameters in quadratic time: a crafted megabyte-long
        # Content-Type would stall the parse. No honest header comes near this length.
        name, value = super().header_source_parse(sourcelines)
        return name, value[:MAX_HEADER_CHARS]

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


MAX_DEPTH = 30  # MIME nesting we follow; deeper parts are dropped, not recursed into
MAX_ID_LENGTH = 998  # a header line's limit, and the Message-ID columns' length
MAX_HEADER_CHARS = 32_768
# Sanitising takes time quadratic in how deeply elements nest. No mail client leaves
# thousands of elements open; HTML that does is shown as its text.
MAX_UNCLOSED_ELEMENTS = 3000

_POLICY = _RawHeaders()

# --- charsets ------------------------------------------------------------------------------

# Labels mail clients use for a charset whose superset is what they really send.
_SUPERSETS = {
    "ascii": "cp1252", "iso8859-1": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949",
    "big5": "cp950", "iso2022_jp": "iso2022_jp_2", "tis-620": "cp874",
}
_EXTRA_LABELS = {
    "iso-8859-8-i": "iso8859-8", "x-sjis": "cp932", "ks_c_5601-1987": "cp949",
    "x-user-defined": "cp1252", "windows-874": "cp874", "x-mac-cyrillic": "mac-cyrillic",
}
# Text codecs that are not charsets (or decode nothing); never taken from a mail's label.
_NOT_CHARSETS = {
    "undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "mbcs",
    "oem", "charmap",
}
# Codecs that reject bytes they cannot map; the rest (single-byte) accept almost anything,
# so for those valid UTF-8 is tried first: a mislabelled UTF-8 mail is far more common than
# Latin text that happens to be valid UTF-8.
_STRICT = re.compile(r"^(utf|gb|big5|cp9[3-5]|euc|iso2022|shift|hz|johab)", re.IGNORECASE)
_WIDE = re.compile(r"^utf-(16|32)", re.IGNORECASE)
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_ISO2022_JP_ESCAPE = re.compile(rb"\x1b\$[@B]")


@functools.lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when it names no charset we know."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = re.split(r"[^a-z0-9._:+-]", label, maxsplit=1)[0]
    label = _EXTRA_LABELS.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return _SUPERSETS.get(info.name, info.name)


def decode_text(data: bytes, charset: str | None = None) -> str:
    """``data`` as text: the declared charset when it fits, else UTF-8, else a guess.
    Never raises."""
    codec = _codec(charset)
    if codec and _WIDE.match(codec) and b"\x00" in data:  # (ASCII-only text is not UTF-16)
        return data.decode(codec, "replace")
    if data.isascii():
        if codec and codec.startswith(("iso2022", "utf_7", "utf-7", "hz")):
            return data.decode(codec, "replace")
        if _ISO2022_JP_ESCAPE.search(data):  # unlabelled Japanese
            return data.decode("iso2022_jp_2", "replace")
        return data.decode("ascii")
    if codec and _STRICT.match(codec):
        attempts = [codec, "utf-8"]
    else:
        attempts = ["utf-8", codec] if codec else ["utf-8"]
    for attempt in attempts:
        try:
            return data.decode(attempt)
        except UnicodeDecodeError:
            continue
    if codec and codec != "utf-8":
        return data.decode(codec, "replace")
    # Unlabelled or wrongly labelled UTF-8: mostly valid UTF-8 stays UTF-8.
    if _UTF8_SEQUENCE.search(data):
        return data.decode("utf-8", "replace")
    return data.decode("cp1252", "replace")


# --- headers -------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BASE64_WORD = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\r\n?")


def _as_bytes(raw: str) -> bytes:
    return raw.encode("utf-8", "surrogateescape")


def _one_line(text: str) -> str:
    """Single-line text: line breaks, tabs and other controls become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _decode_word(encoding: bytes, text: bytes) -> bytes:
    if encoding in b"bB":
        if not _BASE64_WORD.fullmatch(text) or len(text) % 4 == 1:
            raise binascii.Error("not base64")
        return binascii.a2b_base64(text + b"=" * (-len(text) % 4))
    return binascii.a2b_qp(text.replace(b"_", b" "))


def header_text(raw: str | None, fallback_charset: str | None = None) -> str:
    """A header's value as one line of text: RFC 2047 encoded words decoded (adjacent words
    in one charset joined first, as clients split multi-byte characters across them), raw
    8-bit bytes read as UTF-8 or ``fallback_charset``."""
    if not raw:
        return ""
    data = _as_bytes(raw)
    if b"=?" not in data:
        return _one_line(decode_text(data, fallback_charset))
    pieces: list[str] = []
    pending = b""
    pending_charset: str | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(data):
        between = data[position: match.start()]
        charset = match.group(1).split(b"*")[0].decode("ascii", "replace")  # RFC 2231 language
        # Whitespace between two encoded words is not part of the text (RFC 2047, 6.2).
        literal = bool(between.strip()) or position == 0
        if literal or charset.lower() != (pending_charset or "").lower():
            pieces.append(decode_text(pending, pending_charset))
            pending = b""
        if literal:
            pieces.append(decode_text(between, fallback_charset))
        try:
            pending += _decode_word(match.group(2), match.group(3))
        except binascii.Error:
            pending += match.group(0)
        pending_charset = charset
        position = match.end()
    pieces.append(decode_text(pending, pending_charset))
    pieces.append(decode_text(data[position:], fallback_charset))
    return _one_line("".join(pieces))


# (Each pattern that scans a run of characters starts only where the run starts: tried at
# every position inside a long run, it would take quadratic time.)
_BARE_ADDRESS = re.compile(r"(?<![^\s<>()\[\],;:\"'])[^\s<>()\[\],;:\"']+@[\w.-]+\w")


def _addresses(raw: str | None, fallback_charset: str | None) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of an address header."""
    if not raw:
        return []
    found = []
    for name, address in email.utils.getaddresses([raw.replace("\r", " ").replace("\n", " ")]):
        address = _one_line(decode_text(_as_bytes(address))).strip("<>").lower()
        if "@" in address and " " not in address:
            found.append((header_text(name, fallback_charset), address))
    if not found:  # "Name name@host" and other shapes getaddresses gives up on
        text = header_text(raw, fallback_charset)
        for address in _BARE_ADDRESS.findall(text):
            name = text.split(address)[0].strip(" \"'<>(),;:") if len(found) == 0 else ""
            found.append((name, address.lower()))
    return found


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


_MESSAGE_ID = re.compile(r"<[^<>\s]+>|(?<![^\s<>,])[^\s<>,]+@[^\s<>,]+")
_COMMENT = re.compile(r"\([^()]*\)")


def _message_ids(raw: str | None) -> list[str]:
    """``<id>`` tokens (never RFC 2047 decoded); a bare ``id@host`` gets its brackets."""
    text = _COMMENT.sub(" ", _one_line(decode_text(_as_bytes(raw or ""))))
    found = [i if i.startswith("<") else f"<{i}>" for i in _MESSAGE_ID.findall(text)]
    return [i for i in _unique(found) if len(i) <= MAX_ID_LENGTH]


def _date(text: str) -> datetime | None:
    """The Date header in UTC; None when missing or unreadable (no zone: UTC)."""
    if not text:
        return None
    try:
        fields = email.utils.parsedate_tz(text)
        if fields is None:
            parsed = datetime.fromisoformat(text)
        else:
            zone = timezone(timedelta(seconds=fields[9] or 0))
            parsed = datetime(*fields[:6], tzinfo=zone)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


# --- bodies --------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_SIGNATURE_TYPES = {
    "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
}
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
_DELIVERY_STATUS = {"message/delivery-status", "message/global-delivery-status"}
_REPORTS = {
    *_DELIVERY_STATUS, "message/disposition-notification",
    "message/global-disposition-notification",
}
_DEFAULT_NAMES = {
    "text/plain": "text.txt", "text/html": "page.html", "text/calendar": "invite.ics",
    "message/rfc822": "message.eml", "message/delivery-status": "delivery-status.txt",
    "message/disposition-notification": "read-receipt.txt",
    "text/rfc822-headers": "headers.txt", "image/png": "image.png", "image/jpeg": "image.jpg",
    "image/gif": "image.gif", "application/pdf": "document.pdf",
}
# Python's built-in table only (the machine's mime.types would make results vary by host).
_TYPES = mimetypes.MimeTypes(filenames=())
# Soft hyphen, zero-width and bidi control characters: they make "exe.pdf" of "fdp.exe".
_INVISIBLE_MARKS = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _payload(part: Message) -> bytes:
    """The part's content with its transfer encoding undone (forgiving broken base64)."""
    encoding = str(part.get("content-transfer-encoding", ""))
    usual = encoding.split(";")[0].strip().lower()
    if usual != encoding.lower():  # "Base64 " or "base64;" would not be recognised
        part.replace_header("content-transfer-encoding", usual)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _param(part: Message, name: str, header: str = "content-type") -> str:
    """A MIME parameter as text, RFC 2231 (charset, continuations) and RFC 2047 decoded."""
    try:
        value = part.get_param(name, None, header)
    except (ValueError, IndexError, TypeError):
        return ""
    if isinstance(value, tuple):
        charset, _language, text = value
        return _one_line(decode_text(text.encode("latin-1", "surrogateescape"), charset))
    return header_text(email.utils.unquote(value)) if value else ""


def _charset(part: Message) -> str | None:
    return _param(part, "charset") or None


def _clean_text(text: str) -> str:
    return _CONTROL.sub("", _LINE_BREAKS.sub("\n", text))


def _unflow(text: str, delete_space: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks (a trailing space) joined, stuffing undone."""
    lines: list[str] = []
    pending: str | None = None
    pending_depth = 0

    def emit(depth: int, content: str) -> None:
        lines.append(">" * depth + (" " if depth and content else "") + content)

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content
        if pending is not None:
            if depth == pending_depth:
                content = pending + content
            else:
                emit(pending_depth, pending)
            pending = None
        if content.endswith(" ") and content != "-- ":
            pending, pending_depth = (content[:-1] if delete_space else content), depth
        else:
            emit(depth, content)
    if pending is not None:
        emit(pending_depth, pending)
    return "\n".join(lines)


def _part_text(part: Message) -> str:
    data = _payload(part)
    charset = _charset(part)
    if charset is None and part.get_content_type() == "text/html":
        meta = _META_CHARSET.search(data[:2048])
        charset = meta.group(1).decode("ascii") if meta else None
    text = _clean_text(decode_text(data, charset))
    if part.get_content_type() == "text/plain" and _param(part, "format").lower() == "flowed":
        text = _unflow(text, _param(part, "delsp").lower() == "yes")
    return text


def _text_to_html(text: str) -> str:
    return "<div>" + escape(text.strip(), quote=False).replace("\n", "<br>") + "</div>"


def _filename(part: Message) -> str:
    return _param(part, "filename", "content-disposition") or _param(part, "name")


def clean_filename(name: str, content_type: str = "application/octet-stream") -> str:
    """A filename safe to store and show: one line, no directories, no bidi tricks, at most
    200 characters (the extension kept); a name from the content type when empty."""
    name = _INVISIBLE_MARKS.sub("", _one_line(name))
    name = re.split(r"[/\\]", name)[-1].strip(" .")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        keep_extension = dot and len(extension) < 20
        name = stem[: 199 - len(extension)] + dot + extension if keep_extension else name[:200]
    return name or _DEFAULT_NAMES.get(content_type, "attachment.bin")


def _content_id(part: Message) -> str:
    return _one_line(header_text(str(part.get("content-id", "")))).strip("<> ")[:MAX_ID_LENGTH]


@dataclass
class _Segment:
    """One piece of body: an HTML part, a text part, or an alternative with both."""

    html: str | None = None
    text: str | None = None


@dataclass
class _Walk:
    segments: list[_Segment] = field(default_factory=list)
    # Bodies found only inside winmail.dat: used when the mail has no other body.
    fallback_segments: list[_Segment] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    delivery_status: bool = False
    bounced: list[str] = field(default_factory=list)

    def absorb(self, other: _Walk) -> None:
        self.fallback_segments += other.fallback_segments
        self.attachments += other.attachments
        self.delivery_status = self.delivery_status or other.delivery_status
        self.bounced += other.bounced


_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def _attachment(part: Message, content: bytes | None = None, *, inline: bool = False,
                filename: str = "") -> ParsedAttachment:
    content_type = part.get_content_type()
    if not _MIME_TYPE.fullmatch(content_type):
        content_type = "application/octet-stream"
    content_id = _content_id(part)
    return ParsedAttachment(
        filename=clean_filename(filename or _filename(part), content_type),
        content_type=content_type,
        content=_payload(part) if content is None else content,
        content_id=content_id,
        inline=inline or (bool(content_id) and part.get_content_disposition() == "inline"),
    )


def _subparts(part: Message) -> list[Message] | None:
    """The parts inside a multipart or ``message/*`` part; None for a leaf. (Never ask a leaf
    for its payload undecoded: the stdlib decodes it with the raw charset label and raises.)"""
    if not part.is_multipart():
        return None
    return [child for child in part.get_payload() if isinstance(child, Message)]


def _walk(part: Message, out: _Walk, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        return
    content_type = part.get_content_type()
    children = _subparts(part)
    if content_type in _REPORTS:
        _report(part, out)
    elif children is not None and content_type.startswith("message/"):
        out.attachments.append(_forwarded(part, children))
    elif children is not None:
        if content_type == "multipart/alternative":
            _alternative(children, out, depth)
        elif content_type == "multipart/related":
            _related(part, children, out, depth)
        else:
            for child in children:
                _walk(child, out, depth + 1)
    elif content_type in _SIGNATURE_TYPES:
        return  # S/MIME and PGP signatures: nothing a reader can use
    elif content_type in _TNEF_TYPES or _filename(part).lower() == "winmail.dat":
        _tnef(part, out)
    elif content_type.startswith("multipart/") or (
        content_type in ("text/plain", "text/html") and _is_body(part)
    ):  # (a multipart without its boundary: its raw text is all there is to show)
        text = _part_text(part)
        out.segments.append(_html_segment(text) if content_type == "text/html" else
                            _Segment(text=text))
    else:
        attachment = _attachment(part)
        out.attachments.append(attachment)
        if (content_type.startswith("image/") and not attachment.content_id
                and part.get_content_disposition() == "inline"):
            # An image put between the text (Apple Mail): shown where the sender put it.
            digest = hashlib.sha256(attachment.content).hexdigest()[:16]
            attachment.content_id, attachment.inline = f"{digest}@inline", True
            out.segments.append(_Segment(html=f'<img src="cid:{attachment.content_id}" '
                                              f'alt="{escape(attachment.filename)}">'))


_OPENING_TAG = re.compile(
    r"<(?!(?:br|img|hr|meta|input|link|wbr|col|area|base|source|embed|param|track|p|li|td|"
    r"th|tr|option|dt|dd)\b)[a-z]",
    re.IGNORECASE,
)
_LINE_TAG = re.compile(r"<(?:br|/?(?:p|div|li|tr|h[1-6]))\b[^<>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*>")


def _html_segment(html: str) -> _Segment:
    """HTML as a body segment; as its text (tags removed by pattern) when it leaves more
    elements open than any mail client does."""
    unclosed = len(_OPENING_TAG.findall(html)) - html.count("</")  # roughly: </p> counts too
    if unclosed <= MAX_UNCLOSED_ELEMENTS:
        return _Segment(html=html)
    text = unescape(_ANY_TAG.sub(" ", _LINE_TAG.sub("\n", html)))
    return _Segment(text="\n".join(" ".join(line.split()) for line in text.split("\n")))


def _is_body(part: Message) -> bool:
    return part.get_content_disposition() != "attachment" and not _filename(part)


def _alternative(children: list[Message], out: _Walk, depth: int) -> None:
    """The richest version (the last with HTML), with the text version kept beside it."""
    html_version: _Walk | None = None
    text_version: _Walk | None = None
    for child in children:
        version = _Walk()
        _walk(child, version, depth + 1)
        if any(s.html is not None and quotes.has_content(s.html) for s in version.segments):
            html_version = version
        elif version.segments:
            text_version = version
        else:
            out.absorb(version)  # a calendar invite beside the text, say
    chosen = html_version or text_version
    if chosen is None:
        return
    out.absorb(chosen)
    if html_version is None:
        out.segments += chosen.segments
        return
    html = "".join(s.html if s.html is not None else _text_to_html(s.text or "")
                   for s in html_version.segments)
    text = "\n\n".join(s.text for s in text_version.segments if s.text) if text_version else None
    out.segments.append(_Segment(html=html, text=text))


def _related(part: Message, children: list[Message], out: _Walk, depth: int) -> None:
    """The root part (``start`` or the first) is the body; the others are its inline images."""
    if not children:
        return
    start = _param(part, "start").strip("<> ")
    root = next((c for c in children if start and _content_id(c) == start), children[0])
    _walk(root, out, depth + 1)
    for child in children:
        if child is root:
            continue
        if child.is_multipart():
            _walk(child, out, depth + 1)
        else:
            out.attachments.append(_attachment(child, inline=True))


def _message_bytes(message: Message) -> bytes:
    buffer = BytesIO()
    # A damaged nested mail the generator cannot write back whole: keep what it wrote.
    with contextlib.suppress(Exception):
        email.generator.BytesGenerator(
            buffer, mangle_from_=False, policy=_POLICY.clone(max_line_length=0)
        ).flatten(message)
    return buffer.getvalue()


def _forwarded(part: Message, payload: list[Message]) -> ParsedAttachment:
    """A nested mail (a forward as attachment) is kept whole, as ``.eml``."""
    inner = payload[0] if payload else None
    content = _message_bytes(inner) if inner is not None else b""
    name = _filename(part)
    if not name:
        subject = header_text(inner.get("subject") if inner is not None else None)
        name = re.sub(r"[/\\]", "-", subject or "message") + ".eml"  # not a path
    attachment = _attachment(part, content, filename=name)
    attachment.content_type = "message/rfc822"
    return attachment


def _tnef(part: Message, out: _Walk) -> None:
    """Outlook's winmail.dat: its files become attachments, its body a fallback body. Kept as
    it is when nothing can be read from it."""
    data = _payload(part)
    found: list[ParsedAttachment] = []
    segment = None
    try:
        tnef = tnefparse.TNEF(data, do_checksum=False)
        for item in tnef.attachments:
            name = _tnef_name(item, tnef.codepage)
            content = bytes(item.data or b"")
            content_type = _TYPES.guess_type(name)[0] or "application/octet-stream"
            found.append(ParsedAttachment(clean_filename(name, content_type), content_type,
                                          content))
        html, text = tnef.htmlbody, tnef.body
        if html:
            html = html if isinstance(html, str) else decode_text(html, tnef.codepage)
            segment = _html_segment(_clean_text(html))
        elif text:
            text = text if isinstance(text, str) else decode_text(text, tnef.codepage)
            segment = _Segment(text=_clean_text(text.rstrip("\x00")))
    except Exception:  # tnefparse fails on damaged data with anything from struct.error on
        found, segment = [], None
    if not found and segment is None:
        out.attachments.append(_attachment(part, data))
        return
    out.attachments += found
    if segment is not None:
        out.fallback_segments.append(segment)


def _tnef_name(item: Any, codepage: str | None) -> str:
    try:
        name = item.long_filename()
    except UnicodeDecodeError:  # tnefparse decodes 8-bit names as UTF-8
        name = getattr(item, "_name", b"")
    if isinstance(name, bytes):
        name = decode_text(name, codepage)
    return str(name).rstrip("\x00")


def _report(part: Message, out: _Walk) -> None:
    """The machine-readable part of a report (a DSN, a read receipt), kept as a text file.
    A DSN's recipients with ``Action: failed`` (or a 5.x.x status and no action) bounced."""
    blocks = _subparts(part)
    if blocks is not None:
        text = "\n\n".join(
            "\n".join(f"{name}: {header_text(value)}" for name, value in block.raw_items())
            for block in blocks
        )
    else:
        text = _clean_text(decode_text(_payload(part), _charset(part)))
    out.attachments.append(_attachment(part, text.encode()))
    if part.get_content_type() not in _DELIVERY_STATUS:
        return
    out.delivery_status = True
    for fields in (_fields(block) for block in re.split(r"\n[ \t]*\n", text)):
        recipient = fields.get("final-recipient") or fields.get("original-recipient") or ""
        action = fields.get("action", "").lower()
        status = fields.get("status", "")
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        if "@" in address and (action == "failed" or (not action and status.startswith("5"))):
            out.bounced.append(address)


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for line in block.split("\n"):
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            fields[name] = value.strip()
    return fields


# --- the whole mail ------------------------------------------------------------------------

# Bounces without a delivery-status part: a daemon's subject, or Exim's header.
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|failure|has failed|failed)|returned mail|"
    r"failure notice|mail delivery (failed|subsystem)|non remis|unzustellbar|"
    r"nicht zustellbar|not delivered",
    re.IGNORECASE,
)
# qmail's bounces list each failed address alone on a line: "<user@host>:".
_QMAIL_RECIPIENT = re.compile(r"^<([^<>\s]+@[^<>\s]+)>:$", re.MULTILINE)


def _charset_hint(message: Message) -> str | None:
    """The first non-ASCII charset the mail declares: the likeliest for raw 8-bit headers."""
    parts = [message]
    for part in parts:
        if len(parts) < 50:
            parts += _subparts(part) or []
        charset = _codec(_charset(part))
        if charset and charset not in ("cp1252", "utf-8") and not _WIDE.match(charset):
            return charset
        if charset == "utf-8":
            return None  # UTF-8 is tried first anyway
    return None


# Line breaks and empty blocks a split leaves at the end of the reply.
_TRAILING_SPACE = re.compile(
    r"(?:\s|&nbsp;|<br>|<(div|p|span)>(?:\s|&nbsp;|<br>)*</\1>)+((?:</\w+>)*)$"
)


def _body(parsed: ParsedMail, walk: _Walk) -> None:
    segments = walk.segments or walk.fallback_segments
    if not any(s.html is not None for s in segments):
        text = "\n\n".join(s.text.strip("\n") for s in segments if s.text)
        parsed.body, parsed.quoted = quotes.split_text(text)
        parsed.body_text = parsed.body
        return
    parsed.content_type = "text/html"
    html = "".join(s.html if s.html is not None else _text_to_html(s.text or "")
                   for s in segments)
    reply, quoted = quotes.split_html(html)
    body = sanitize_html(reply)
    head, tail = body[:-1000], body[-1000:]  # (the pattern backtracks: only on a short tail)
    for _nesting in range(3):
        tail = _TRAILING_SPACE.sub(r"\2", tail)
    parsed.body = head + tail
    parsed.quoted = sanitize_html(quoted).strip() if quoted else ""
    texts = [s.text for s in segments if s.text is not None]
    if len(texts) == len(segments):  # every piece came with its own text version
        parsed.body_text = quotes.split_text("\n\n".join(texts))[0]
    else:
        parsed.body_text = html_to_text(parsed.body)


_HEADER_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def _without_stray_lines(raw: bytes) -> bytes | None:
    """``raw`` without the lines in its header block that are neither a field nor a
    continuation but have fields after them; None when there are none. (The parser takes
    such a line for the start of the body and the fields after it for text.)"""
    end = _BLANK_LINE.search(raw)
    head = raw[: end.start()] if end else raw
    lines = head.splitlines(keepends=True)
    fields = [n for n, line in enumerate(lines) if _HEADER_FIELD.match(line)]
    stray = {
        n for n, line in enumerate(lines[: fields[-1]] if fields else [])
        if line[:1] not in (b" ", b"\t") and not _HEADER_FIELD.match(line)
    }
    if not stray:
        return None
    return b"".join(line for n, line in enumerate(lines) if n not in stray) + raw[len(head):]


def _message(raw: bytes) -> Message:
    try:
        message = email.message_from_bytes(raw, policy=_POLICY)
    except RecursionError:  # MIME nested hundreds deep: headers, and the rest as text
        return email.parser.BytesParser(policy=_POLICY).parsebytes(raw, headersonly=True)
    if any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in message.defects):
        repaired = _without_stray_lines(raw)
        if repaired is not None:
            return _message(repaired)
    return message


def parse(raw: bytes) -> ParsedMail:
    """Everything the help desk reads from one raw mail; never raises."""
    message = _message(raw)
    hint = _charset_hint(message)

    def header(name: str) -> str:
        return header_text(message.get(name), hint)

    def addresses(name: str) -> list[str]:
        return _unique([a for _n, a in _addresses(message.get(name), hint)])

    parsed = ParsedMail(
        from_=header("from"),
        to=addresses("to"),
        cc=addresses("cc"),
        reply_to=addresses("reply-to"),
        subject=header("subject"),
        date=_date(header("date")),
        message_id=next(iter(_message_ids(message.get("message-id"))), ""),
        in_reply_to=next(iter(_message_ids(message.get("in-reply-to"))), ""),
        references=_message_ids(message.get("references")),
        headers={name: header(name) for name in autoreply.HEADERS if message.get(name)},
    )
    # No From (or no address in it): whoever else the headers say sent it.
    for name in ("from", "sender", "reply-to", "return-path"):
        if found := _addresses(message.get(name), hint):
            parsed.from_display_name, parsed.from_email = found[0]
            break

    walk = _Walk()
    _walk(message, walk)
    _body(parsed, walk)
    parsed.attachments = walk.attachments

    failed = [a for _n, a in _addresses(message.get("x-failed-recipients"), hint)]
    parsed.is_bounce = walk.delivery_status or bool(failed) or (
        autoreply.is_machine_sender(parsed.from_email) and bool(_BOUNCE_SUBJECT.search(
            parsed.subject))
    )
    if parsed.is_bounce and not walk.delivery_status and not failed:
        failed = [a.lower() for a in _QMAIL_RECIPIENT.findall(parsed.body_text)]
    parsed.bounced_recipients = _unique(walk.bounced or failed)
    parsed.auto_reply_reasons = autoreply.automatic_reasons(parsed.headers)
    parsed.is_auto_reply = bool(parsed.auto_reply_reasons) or parsed.is_bounce
    return parsed
