"""The parser's promises beyond the golden corpus: it never fails on what arrives, what it
returns is safe to store and show, and the quoted history is told apart from the reply."""

import io
import json
import random
import time
from email.message import Message
from pathlib import Path

import pytest
from django.core.management import call_command

from saruna.mail.autoreply import automatic_reasons
from saruna.mail.parser import ParsedMail, clean_filename, decode_text, header_text, parse
from saruna.mail.quotes import REPLY_MARKER, split_html, split_text

CORPUS = Path(__file__).parent / "corpus"
JUNK = [b"\r", b"\n", b"\r\n\r\n", b"\x00", b"\xff\xfe", b"=?", b"?=", b"--", b":", b";",
        b"=\n", b"<", b'"', b"\x1b$B", b"Content-Type: multipart/mixed; boundary=x\n"]


def _mutated(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(8):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:
        del data[rng.randrange(len(data)):]
    elif kind == 2:
        for _ in range(6):
            position = rng.randrange(len(data) + 1)
            data[position:position] = rng.choice(JUNK)
    else:
        start = rng.randrange(len(data))
        del data[start: start + rng.randrange(1, 200)]
    return bytes(data)


def _assert_safe(parsed: ParsedMail) -> None:
    """Storable (valid UTF-8, no NUL: PostgreSQL refuses both) and header-derived values on
    one line (nothing downstream can turn them into extra header lines)."""
    json.dumps(parsed.as_json(), ensure_ascii=False).encode("utf-8")
    for value in (parsed.body, parsed.body_text, parsed.quoted):
        assert "\x00" not in value
    one_line = [parsed.subject, parsed.from_, parsed.from_display_name, parsed.from_email,
                *parsed.to, *parsed.cc, *parsed.reply_to, *parsed.headers.values(),
                *(a.filename for a in parsed.attachments),
                *(a.content_id for a in parsed.attachments)]
    for value in one_line:
        assert not any(c in value for c in "\r\n\x00"), value


def test_mutated_corpus_mails_never_break_the_parser():
    rng = random.Random(20240304)
    mails = sorted(CORPUS.glob("*.eml"))
    for path in mails:
        raw = path.read_bytes()
        for _ in range(12):
            _assert_safe(parse(_mutated(raw, rng)))


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00" * 64,
    bytes(range(256)) * 4,
    b"From:",
    b"Subject: " + b"x" * 100_000 + b"\n\nbody",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b--\n",
    b"Content-Type: multipart/alternative\n\n",
    b"Content-Type: message/rfc822\n\nnot a mail at all",
    b"Content-Type: message/delivery-status\n\n\n\n",
    b"Content-Type: text/plain; charset*=''\n\nx",
    b"Content-Disposition: attachment; filename*=undefined''x\n\nx",
    b"Content-Type: text/plain; charset=undefined\nContent-Transfer-Encoding: base64\n\n!!",
    b"Content-Type: application/ms-tnef\nContent-Transfer-Encoding: base64\n\neJ8+Ig==",
], ids=lambda raw: repr(raw[:30]))
def test_garbage_parses_to_something(raw):
    _assert_safe(parse(raw))


def test_mime_nested_beyond_pythons_recursion_limit():
    depth = 1500
    raw = b"From: a@example.org\nSubject: deep\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (n, n) for n in range(depth)
    ) + b"\nbottom\n"
    parsed = parse(raw)
    assert parsed.subject == "deep"
    _assert_safe(parsed)


@pytest.mark.parametrize("label", [
    "undefined", "base64", "rot13", "zlib", "unicode-escape", "idna", "utf-7",
    "x-made-up", "utf-8'; DROP", "", "\udcff",
])
def test_any_charset_label_decodes(label):
    text = decode_text("Grüße aus Rīga \\N{BULLET}".encode(), label)
    assert "Grüße aus Rīga" in text


def test_header_injection_comes_out_as_one_line():
    raw = (b"From: =?utf-8?q?Evil=0D=0ABcc=3A_x=40y?= <evil@example.org>\n"
           b"Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@example.org=00?=\n"
           b"Content-Type: multipart/mixed; boundary=b\n\n"
           b"--b\nContent-Type: text/plain\n\nhi\n"
           b"--b\nContent-Type: application/pdf\n"
           b"Content-Disposition: attachment; filename*=utf-8''a%0D%0ABcc%3A%20x.pdf\n\n"
           b"%PDF\n--b--\n")
    parsed = parse(raw)
    assert parsed.subject == "Hi Bcc: victim@example.org"
    assert parsed.from_display_name == "Evil Bcc: x@y"
    assert [a.filename for a in parsed.attachments] == ["a Bcc: x.pdf"]


def test_filenames_lose_directories_and_bidi_tricks():
    assert clean_filename("..\\..\\windows\\evil.exe") == "evil.exe"
    assert clean_filename("/etc/passwd") == "passwd"
    # U+202E would show "invoice_fdp.exe" as "invoice_exe.pdf".
    assert clean_filename("invoice_\u202efdp.exe") == "invoice_fdp.exe"
    assert clean_filename("..") == "attachment.bin"
    assert clean_filename("", "image/png") == "image.png"
    long = clean_filename("x" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


def test_undeclared_8bit_header_is_read_in_the_bodys_charset():
    subject, body = "Счёт", "Привет"
    raw = f"Subject: {subject}\nContent-Type: text/plain; charset=koi8-r\n\n{body}"
    parsed = parse(raw.encode("koi8-r"))
    assert (parsed.subject, parsed.body) == (subject, body)


def test_encoded_words_split_inside_a_character_are_joined():
    assert header_text("=?utf-8?B?xA==?= =?utf-8?B?gQ==?=") == "ā"


def test_html_is_sanitised():
    raw = (b"Content-Type: text/html\n\n"
           b'<p onclick="x()">Hi<script>alert(1)</script></p><style>p{}</style>'
           b'<a href="javascript:alert(1)">a</a><a href="https://example.org/">b</a>'
           b'<img src="https://tracker.example/p.gif"><img src="cid:logo@x">')
    body = parse(raw).body
    for dangerous in ("<script", "alert", "onclick", "<style", "javascript:",
                      ' src="https://tracker'):
        assert dangerous not in body
    assert 'data-remote-src="https://tracker.example/p.gif"' in body  # shown on request only
    assert 'src="cid:logo@x"' in body  # the inline image still finds its part
    assert 'href="https://example.org/" rel="noopener noreferrer"' in body


def test_reply_marker_keeps_only_what_was_typed_above_it():
    mail = ("Content-Type: text/plain; charset=utf-8\n\nDone, thanks.\n\n"
            "On Tuesday, ACME wrote:\n"
            f"> {REPLY_MARKER}\n> Hello, is it done?\n").encode()
    parsed = parse(mail)
    assert parsed.body == "Done, thanks."
    assert parsed.quoted.startswith("On Tuesday, ACME wrote:")


def test_a_translated_marker_counts_too():
    reply, quoted = split_text("Gatavs.\n\n> ##- Lūdzu, rakstiet virs šīs līnijas -##\n> Sveiki\n")
    assert reply == "Gatavs."
    assert "Sveiki" in quoted


def test_html_marker_wrapped_in_tags_and_entities():
    reply, quoted = split_html(
        "<div>Yes.</div><blockquote><p><span>##-</span>&nbsp;Please type your reply "
        "above this line&nbsp;-##</p><p>Question?</p></blockquote>")
    assert reply.startswith("<div>Yes.</div>")
    assert "Question?" in quoted and "Question?" not in reply


def test_nothing_is_quoted_when_nothing_would_remain():
    text = "On Mon, 4 Mar 2024, ACME wrote:\n> everything is a quote\n"
    assert split_text(text) == (text.strip(), "")


def test_forwarded_mail_is_content_not_history():
    text = ("FYI\n\nBegin forwarded message:\n\nFrom: A <a@example.org>\n"
            "Date: 4 March 2024\nSubject: x\n\nThe content.\n")
    assert split_text(text) == (text.strip(), "")


def test_quote_detection_on_a_huge_body_stays_fast():
    # Every line looks like a possible attribution; scanning all of them would take seconds.
    text = "\n".join(f"Step {n}: do this and that:" for n in range(50_000))
    raw = f"Content-Type: text/plain\n\n{text}\n".encode()
    started = time.perf_counter()
    parsed = parse(raw)
    assert time.perf_counter() - started < 1.0
    assert parsed.body.count("\n") == 49_999


@pytest.mark.parametrize("raw", [
    b"Content-Type: text/html\n\n<p>hi</p><div " + b"class= " * 20_000,
    b"Content-Type: text/html\n\n<p>hi</p>" + b"<div>" * 40_000,
    b"Content-Type: text/html\n\n<p>hi</p>" + b"<div " * 40_000,
    b"Content-Type: text/html\n\n<p>hi</p>" + b"<br>" * 40_000 + b"x",
    b"Content-Type: text/plain" + b"; a=b" * 60_000 + b"\n\nbody",
    b"From: " + b"a" * 200_000 + b"\n\nbody",
], ids=["attributes", "nesting", "unclosed-tags", "line-breaks", "parameters", "address"])
def test_crafted_mails_cannot_stall_the_parser(raw):
    # Each of these took from seconds to minutes with patterns or libraries that scan
    # quadratically; a mail is parsed in well under a second.
    started = time.perf_counter()
    _assert_safe(parse(raw))
    assert time.perf_counter() - started < 1.0


def test_automatic_reasons_read_a_message_or_the_parsed_headers():
    message = Message()
    message["From"] = "Mail Delivery <MAILER-DAEMON@mx.example.org>"
    message["Precedence"] = "junk"
    assert automatic_reasons(message) == [
        "Precedence: junk", "sender mailer-daemon@mx.example.org"]
    assert automatic_reasons({"auto-submitted": "no", "from": "jane@example.org"}) == []
    assert automatic_reasons({"from": '"Doe, John" <noreply@shop.example>'}) == [
        "sender noreply@shop.example"]


def test_parse_command_prints_the_json():
    out = io.StringIO()
    path = CORPUS / "quote-gmail.eml"
    call_command("mail", "parse", str(path), stdout=out)
    assert json.loads(out.getvalue()) == json.loads(path.with_suffix(".json").read_text())


def test_replay_command_prints_what_ingest_says(monkeypatch):
    monkeypatch.setattr("saruna.mail.ingest.replay", lambda inbound_id: f"Mail {inbound_id}: ok.")
    out = io.StringIO()
    call_command("mail", "replay", "42", stdout=out)
    assert out.getvalue().strip() == "Mail 42: ok."
