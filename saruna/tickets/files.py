"""Uploaded files: content-type sniffing from the bytes, the size limit, and how a file may be
served. The name a client gives a file never decides its type."""

from __future__ import annotations

import zipfile
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.http import FileResponse
from django.utils.http import content_disposition_header

if TYPE_CHECKING:
    from saruna.tickets.models import StoredFile

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
OCTET_STREAM = "application/octet-stream"

# Types a browser shows without running anything; all else is downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
# Even a file shown inline may run nothing and reach nothing of the page's origin.
SANDBOX_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"

_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]
# Office Open XML documents are ZIP files told apart by their top folder.
_OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
# Text that a browser would treat as markup (and might run) if it were served as such.
_MARKUP = [
    (b"<?xml", "application/xml"),
    (b"<svg", "image/svg+xml"),
    (b"<!doctype html", "text/html"),
    (b"<html", "text/html"),
    (b"<script", "text/html"),
    (b"<head", "text/html"),
    (b"<body", "text/html"),
]


def max_attachment_bytes() -> int:
    return int(getattr(settings, "SARUNA_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))


def sniff_content_type(stream: IO[bytes]) -> str:
    """The MIME type told by the first bytes of a seekable stream (left at position 0)."""
    stream.seek(0)
    head = stream.read(512)
    stream.seek(0)
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(stream)
    return _text_type(head)


def _zip_type(stream: IO[bytes]) -> str:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
            if names and names[0] == "mimetype":  # OpenDocument names its own type first
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                if declared.startswith("application/vnd.oasis.opendocument."):
                    return declared
    except (zipfile.BadZipFile, OSError, KeyError):
        return OCTET_STREAM
    finally:
        stream.seek(0)
    if "[Content_Types].xml" in names:
        for folder, content_type in _OOXML.items():
            if any(n.startswith(folder) for n in names):
                return content_type
    return "application/zip"


def _text_type(head: bytes) -> str:
    if not head or b"\x00" in head:
        return OCTET_STREAM
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return OCTET_STREAM
        text = head[: exc.start].decode("utf-8")
    start = text.lstrip("\ufeff \t\r\n").lower().encode()
    for prefix, content_type in _MARKUP:
        if start.startswith(prefix):
            return content_type
    return "text/plain"


def may_show_inline(content_type: str) -> bool:
    """Only safe image types and PDF are shown inline; everything else (HTML, SVG, XML,
    scripts, text, unknown) is served as a download."""
    return content_type in INLINE_TYPES


def disposition_header(name: str, content_type: str, *, inline: bool) -> str:
    """The ``Content-Disposition`` to serve a file with: ``inline`` is honoured only for
    types :func:`may_show_inline` allows. Serve with ``X-Content-Type-Options: nosniff``."""
    as_attachment = not (inline and may_show_inline(content_type))
    return content_disposition_header(as_attachment, name) or "attachment"


def file_response(stored: StoredFile, *, inline: bool) -> FileResponse:
    """The response serving ``stored`` to anyone (agents and customers alike): its sniffed
    type, :func:`disposition_header`, ``nosniff`` and a sandboxing policy. The caller has
    already decided that the requester may have the file."""
    response = FileResponse(stored.file.open("rb"), content_type=stored.content_type)
    response["Content-Disposition"] = disposition_header(
        stored.name, stored.content_type, inline=inline
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_POLICY
    return response
