"""Sanitised message HTML: classic XSS payloads end inert; html_to_text reads well."""

import re
from html.parser import HTMLParser

import pytest

from saruna.tickets import actions
from saruna.tickets.html import html_to_text, sanitize_html

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<input autofocus onfocus=alert(1)>',
    '<details open ontoggle=alert(1)>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">phish</div>',
    "<style>@import 'https://evil.test/x.css';</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.test/">',
    '<link rel=stylesheet href="https://evil.test/x.css">',
    "<p>ok</p><!-- <script>alert(1)</script> -->",
    '<img src="x" alt="&quot; onerror=alert(1) x=&quot;">',
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    '<a href="https://ok.test" onclick="alert(1)" target="_blank">ok</a>',
    '<video><source onerror="alert(1)"></video>',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<img src="https://tracker.test/pixel.gif" width="1" height="1">',
]

SAFE_TAGS = {
    "a", "b", "br", "div", "em", "i", "img", "li", "p", "span", "strong", "table", "tbody",
    "td", "tr", "ul",
}
URL_ATTRIBUTES = {"href", "src", "background", "action", "data-remote-src"}


class _Elements(HTMLParser):
    """What a browser would build from the markup: tags with their decoded attributes."""

    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def assert_inert(cleaned):
    parser = _Elements()
    parser.feed(cleaned)
    for tag, attrs in parser.elements:
        assert tag in SAFE_TAGS, (tag, cleaned)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, cleaned)
            if name in URL_ATTRIBUTES:
                scheme = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), cleaned
            if name == "style":
                assert "url(" not in value and "position" not in value, cleaned
        if tag == "img":
            assert not (attrs.get("src") or "").lower().startswith(("http", "//")), cleaned


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_inert(payload):
    cleaned = sanitize_html(payload)
    assert_inert(cleaned)
    assert sanitize_html(cleaned) == cleaned  # idempotent: stored HTML can be re-cleaned


def test_links_get_noopener_and_remote_images_are_not_loaded():
    cleaned = sanitize_html(
        '<a href="https://ok.test/a">a</a><img src="https://t.test/p.gif" alt="logo">'
        '<img src="cid:part1"><img src="/files/abc12345/view">'
    )
    assert '<a href="https://ok.test/a" rel="noopener noreferrer">a</a>' in cleaned
    assert '<img data-remote-src="https://t.test/p.gif" alt="logo">' in cleaned
    assert '<img src="cid:part1">' in cleaned
    assert '<img src="/files/abc12345/view">' in cleaned


def test_formatting_survives():
    html = '<p style="color:red;font-weight:bold">Hi</p><ul><li><b>one</b></li></ul>'
    cleaned = sanitize_html(html)
    assert "<ul><li><b>one</b></li></ul>" in cleaned
    assert 'style="color:red;font-weight:bold"' in cleaned


def test_html_to_text():
    html = (
        "<h1>Title</h1><p>Hello <b>Anna</b>,</p><p>line one<br>line&nbsp;two</p>"
        "<ul><li>first</li><li>second</li></ul>"
        '<p>See <a href="https://docs.test/x">the docs</a> &amp; more.</p>'
        "<script>var x = 1;</script><style>p {}</style>"
    )
    assert html_to_text(html) == (
        "Title\n\nHello Anna,\n\nline one\nline two\n\n- first\n- second\n\n"
        "See the docs (https://docs.test/x) & more."
    )


def test_stored_bodies_are_sanitised(ticket, agent):
    group = actions.add_agent_reply(ticket, agent, PAYLOADS[1] + "<p>fine</p>")
    message = group.messages.get()
    assert "onerror" not in message.body
    assert message.text == "fine"


def test_text_bodies_are_stored_as_given(ticket, customer):
    group = actions.add_customer_message(ticket, customer, "<script>alert(1)</script>")
    message = group.messages.get()
    # Format T: kept verbatim, escaped wherever it is rendered.
    assert (message.format, message.body) == ("T", "<script>alert(1)</script>")
