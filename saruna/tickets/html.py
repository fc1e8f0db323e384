"""Sanitising message HTML (nh3) and turning it into plain text.

What survives :func:`sanitize_html`: formatting, lists, tables, links and images; ``style``
attributes reduced to a few presentational properties; links to ``http``, ``https``,
``mailto``, ``tel`` only, each with ``rel="noopener noreferrer"``. Scripts, event handlers,
``<style>``/``<iframe>``/``<form>`` and friends, ``javascript:``/``data:`` URLs are removed.

Remote images (``http(s)`` sources) are kept but not loaded: their address moves to
``data-remote-src`` and ``src`` is dropped, so opening a ticket does not tell a sender (tracking
pixel) that and from where it was read. The agent UI may offer "show remote images", which puts
the address back after checking it is ``http(s)``. ``cid:`` images (inline mail parts) and
root-relative paths (our own ``/files/...``) keep their ``src``.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "font",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}
ATTRIBUTES = {
    "*": {"dir", "lang", "title", "style", "align"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "data-remote-src"},
    "font": {"color", "face", "size"},
    "td": {"colspan", "rowspan", "valign", "width"},
    "th": {"colspan", "rowspan", "valign", "width", "scope"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "ol": {"start", "type"},
}
# Presentational only: nothing that can position an element over the page or load a URL.
STYLE_PROPERTIES = {
    "color", "background-color", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "vertical-align", "white-space", "border",
    "border-collapse", "padding", "margin", "width", "height",
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
# Dropped with their content rather than unwrapped into text.
DROP_WITH_CONTENT = {"script", "style", "head", "title", "noscript", "template", "iframe",
                     "object", "embed", "svg", "math", "select", "textarea", "frameset"}

_REMOTE = re.compile(r"^https?://", re.IGNORECASE)
# nh3's serialiser writes every attribute as name="value" with quotes inside escaped, so this
# matches real <img> tags only (``<img`` in text is ``&lt;img`` by then).
_REMOTE_IMG_SRC = re.compile(r'(<img\b[^>]*?) src="(https?://[^"]*)"', re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "data-remote-src":
        return value if _REMOTE.match(value) else None
    if tag == "img" and attribute == "src" and value.lower().startswith("//"):
        return None  # protocol-relative: a remote image that would escape the rewrite
    return value


def sanitize_html(html: str) -> str:
    """Safe HTML for display in the agent UI, the portal and mail; idempotent."""
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return _REMOTE_IMG_SRC.sub(r'\1 data-remote-src="\2"', cleaned)


_HELD_IMG_SRC = re.compile(r'(<img\b[^>]*?) data-remote-src="(https?://[^"]*)"', re.IGNORECASE)


def with_remote_images(html: str) -> str:
    """Sanitised HTML with its remote images loading again: for mail an agent sends, whose
    images the agent put there (the customer's mail client decides about loading them)."""
    return _HELD_IMG_SRC.sub(r'\1 src="\2"', html)


_BLOCKS = {
    "address", "article", "blockquote", "div", "dl", "dt", "dd", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section",
    "table", "tr", "ul",
}
# Blocks set off by an empty line; other blocks just start on a new line.
_PARAGRAPHS = {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def break_line(self, tag: str) -> None:
        wanted = "\n\n" if tag in _PARAGRAPHS else "\n"
        tail = "".join(self.parts[-2:])
        if self.parts and not tail.endswith(wanted):
            self.parts.append("\n" if tail.endswith("\n") else wanted)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.break_line(tag)
            if tag == "li":
                self.parts.append("- ")
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.break_line(tag)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.href:
            text = "".join(self.link_text).strip()
            if self.href.startswith(("http://", "https://")) and self.href != text:
                self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.parts.append(data)
        if self.href is not None:
            self.link_text.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: paragraphs and line breaks kept, list items
    marked, link targets shown after their text, scripts and styles dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = [line.strip(" ") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
