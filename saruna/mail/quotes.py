"""Splitting a reply from the history it quotes (and from the sender's signature), so the
ticket shows what the customer just wrote and keeps the rest collapsible.

In order: our own reply marker (the sending side puts :data:`REPLY_MARKER` at the top of
every mail; whatever the customer typed above it is the reply), the quote containers mail
clients mark in HTML (Gmail, Thunderbird, Apple Mail, Outlook, Yahoo), quotequail's
"On ... wrote:" / "-----Original Message-----" lines, Outlook's "From:/Sent:" header block,
a trailing block of ``>`` lines, and finally the signature (``-- `` in text, the clients'
signature blocks in HTML). Forwarded mails are not history: their content is what the
customer wants us to read.

Both functions work on the raw (unsanitised) body and never return an empty reply: when
everything would be quoted, nothing is.
"""

from __future__ import annotations

import re
from html import unescape

import nh3
import quotequail

REPLY_MARKER = "##- Please type your reply above this line -##"
# The words between the hashes may be translated, so any ``##- ... -##`` counts; in HTML the
# clients may have wrapped the words in tags or turned spaces into entities.
_MARKER_LINE = re.compile(r"^[> \t]*##-[^\n#]{1,200}-##[ \t]*$", re.MULTILINE)
_MARKER_HTML = re.compile(r"##-(?:[^#<&]|&#?\w+;|<[^>]*>){1,600}?-##")

# Lines quotequail can match end in ":" (attributions), ">" (Gmail's address form), "---"
# or a rule of underscores; a text without such a line is not worth its time.
_QUOTE_CANDIDATE = re.compile(r"(?:[:>]|---|_{32})[ \t]*$", re.MULTILINE)
# The intro lines of forwarded mails (quotequail's list, and Latvian).
_FORWARD = re.compile(
    r"forwarded message|weitergeleitete|réexpédié|mensaje reenviado|vidarebefordrat|"
    r"doorgestuurd|message transféré|пересылаемое|pārsūtīt",
    re.IGNORECASE,
)
# Outlook's plain-text history: a header block in the writer's language, no separator line.
_FROM_LINE = re.compile(
    r"^[ \t]*\*?(?:from|von|de|van|från|от|no)[ \t]*:\*?[ \t]+\S", re.IGNORECASE
)
_SENT_LINE = re.compile(
    r"^[ \t]*\*?(?:sent|date|gesendet|datum|envoyé|enviado|verzonden|skickat|nosūtīts|"
    r"отправлено|дата)[ \t]*:",
    re.IGNORECASE,
)
_SIGNATURE_LINE = re.compile(r"^-- ?$", re.MULTILINE)
# quotequail walks every line with ~40 patterns: cap its work, a reply's quote starts early.
SCAN_LINES = 200
SCAN_HTML_CHARS = 100_000

# Opening tags that may start the quoted history or a signature, found by a word in them;
# their attributes are then read apart. (Every scan stops at the next "<" or ">": a
# crafted mail cannot make these searches quadratic.)
_CONTAINER_TAG = re.compile(
    r"<(div|blockquote|table)\b(?=[^<>]*?(?:gmail_quote|moz-cite-prefix|yahoo_quoted|"
    r"divrplyfwdmsg|appendonsend|mail-editor-reference|cite|border-top))([^<>]*+)>",
    re.IGNORECASE,
)
_SIGNATURE_TAG = re.compile(
    r"<(div|pre|span|table|p)\b(?=[^<>]*?(?:signature|_rc_sig))([^<>]*+)>", re.IGNORECASE
)
_ATTRIBUTE = re.compile(
    r"""(?<![\w-])(class|id|type|style|data-smartmail)\s*=\s*"""
    r"""(?:"([^"]*)"?|'([^']*)'?|([^\s"'<>]+))""",
    re.IGNORECASE,
)
_CONTAINER_NAMES = {
    "gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted",
    "divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container",
}
_SIGNATURE_NAMES = {
    "gmail_signature", "gmail_signature_prefix", "moz-signature", "signature", "_rc_sig",
}
# Outlook's history starts with a <div> whose top border has one of two colours.
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid\s+#(?:e1e1e1|b5c4df)\s+1\.0pt", re.I)
_BLOCK_BOUNDARY = re.compile(
    r"<(?:div|p|br|blockquote|li|tr|h[1-6])\b[^<>]*>|</(?:div|p|blockquote|li|tr|h[1-6])>",
    re.IGNORECASE,
)
_INVISIBLE = {"script", "style", "head", "title", "template", "noscript"}


def split_text(text: str) -> tuple[str, str]:
    """(reply, quoted history and signature) of a plain-text body."""
    reply, quoted = text, ""
    marker = _MARKER_LINE.search(text)
    if marker and text[: marker.start()].strip():
        reply, quoted = text[: marker.start()], text[marker.start():]
    found = [i for i in (_quotequail_index(reply), _header_block_index(reply)) if i is not None]
    index = min(found) if found else _trailing_quote_index(reply)
    if index is not None and reply[:index].strip() and not _forwards(reply, index):
        reply, quoted = reply[:index], reply[index:] + quoted
    if quoted:
        reply, quoted = _cut_attribution(reply, quoted)
    signature = _SIGNATURE_LINE.search(reply)
    if signature and reply[: signature.start()].strip():
        signed = reply[signature.start():].rstrip()
        reply, quoted = reply[: signature.start()], f"{signed}\n\n{quoted}" if quoted else signed
    return reply.strip(), quoted.strip()


def split_html(html: str) -> tuple[str, str]:
    """(reply, quoted history and signature) of an HTML body; both unsanitised HTML."""
    reply, quoted = html, ""
    marker = _MARKER_HTML.search(html)
    if marker and has_content(html[: marker.start()]):
        reply, quoted = html[: marker.start()], html[marker.start():]
    container = _quote_container(reply)
    if container is not None and has_content(reply[:container]):
        if not _FORWARD.search(visible_text(reply[container: container + 600])):
            reply, quoted = reply[:container], reply[container:] + quoted
    elif len(reply) <= SCAN_HTML_CHARS and len(_BLOCK_BOUNDARY.findall(reply)) <= SCAN_LINES:
        reply, older = _quotequail_html(reply)
        quoted = older + quoted
    if quoted:
        reply, attribution = _cut_html_attribution(reply)
        quoted = attribution + quoted
    signature = _signature(reply)
    if signature is not None and has_content(reply[:signature]):
        reply, quoted = reply[:signature], reply[signature:] + quoted
    return reply, quoted


def _attributes(tag: str) -> tuple[dict[str, str], set[str]]:
    """The attributes the rules read, and the words of its class, id and data-smartmail."""
    found = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
             for m in _ATTRIBUTE.finditer(tag)}
    names = {
        word for key in ("class", "id", "data-smartmail") for word in found.get(key, "").split()
    }
    return found, {name.lower() for name in names}


def _quote_container(html: str) -> int | None:
    """Where the first quote container of a known mail client starts."""
    for match in _CONTAINER_TAG.finditer(html):
        tag = match.group(1).lower()
        found, names = _attributes(match.group(2))
        if (
            names & _CONTAINER_NAMES
            or (tag == "blockquote" and found.get("type", "").lower() == "cite")
            or (tag == "div" and _OUTLOOK_BORDER.search(found.get("style", "")))
        ):
            return match.start()
    return None


def _signature(html: str) -> int | None:
    """Where the first signature block of a known mail client starts."""
    for match in _SIGNATURE_TAG.finditer(html):
        if _attributes(match.group(2))[1] & _SIGNATURE_NAMES:
            return match.start()
    return None


def _quotequail_index(text: str) -> int | None:
    """Offset of the line quotequail says starts the quote (its intro line), if any."""
    head = "\n".join(text.split("\n", SCAN_LINES)[:SCAN_LINES])
    if not _QUOTE_CANDIDATE.search(head):
        return None
    found = quotequail.quote(head, limit=SCAN_LINES + 1, quote_intro_line=True)
    if len(found) < 2:
        return None
    return len(found[0][1]) + 1 if found[0][1] else 0


def _forwards(text: str, index: int) -> bool:
    """Whether the quote found at ``index`` is a forwarded mail: its first line, or the last
    line before it, is a forward's intro."""
    before = text[:index].rstrip().rsplit("\n", 1)[-1]
    return bool(_FORWARD.search(before) or _FORWARD.search(text[index:].split("\n", 1)[0]))


def _header_block_index(text: str) -> int | None:
    """Offset of a "From: ... / Sent: ..." block: how Outlook starts the history in text."""
    lines = text.split("\n", SCAN_LINES)[:SCAN_LINES]
    offset = 0
    for number, line in enumerate(lines):
        following = lines[number + 1: number + 3]
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(n) for n in following):
            return offset
        offset += len(line) + 1
    return None


def _trailing_quote_index(text: str) -> int | None:
    """Offset of a block of ``>`` lines that ends the text (blank lines allowed in it)."""
    lines = text.split("\n")
    start = None
    for number in range(len(lines) - 1, -1, -1):
        line = lines[number].strip()
        if line.startswith(">"):
            start = number
        elif line:
            break
    if start is None:
        return None
    return sum(len(line) + 1 for line in lines[:start])


def _is_attribution(line: str) -> bool:
    # "On <date>, <name> wrote:" in any language: ends with a colon, names a date.
    line = line.strip()
    return line.endswith(":") and len(line) >= 20 and any(c.isdigit() for c in line)


def _cut_attribution(reply: str, quoted: str) -> tuple[str, str]:
    """Moves an attribution line that ends ``reply`` over to ``quoted``."""
    lines = reply.rstrip().split("\n")
    if len(lines) > 1 and _is_attribution(lines[-1]):
        return "\n".join(lines[:-1]), lines[-1] + "\n" + quoted
    return reply, quoted


def _quotequail_html(html: str) -> tuple[str, str]:
    try:
        found = quotequail.quote_html(html, limit=10**6, quote_intro_line=True)
    except Exception:  # lxml rejects some documents (empty, broken); then nothing is quoted
        return html, ""
    if (
        len(found) < 2
        or not has_content(found[0][1])
        or _FORWARD.search(visible_text(found[1][1][:600]))
    ):
        return html, ""
    return found[0][1], found[1][1]


def _cut_html_attribution(html: str) -> tuple[str, str]:
    """Moves the last block of ``html`` over to the quote when it is an attribution line."""
    tail_from = max(0, len(html) - 2000)
    boundaries = [match.start() for match in _BLOCK_BOUNDARY.finditer(html, tail_from)]
    end = len(html)
    for start in reversed(boundaries):
        text = visible_text(html[start:end])
        if text:
            if _is_attribution(text) and has_content(html[:start]):
                return html[:start], html[start:]
            break
        end = start
    return html, ""


def visible_text(html: str) -> str:
    """The words a reader would see in ``html`` (roughly: for decisions, not for display)."""
    text = nh3.clean(html, tags=set(), clean_content_tags=_INVISIBLE, strip_comments=True)
    return " ".join(unescape(text).split())


def has_content(html: str) -> bool:
    return "<img" in html.lower() or bool(visible_text(html))
