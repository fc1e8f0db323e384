"""Stored files: sniffed types, per-account folders, size limit, inline vs download."""

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import time_machine
from django_scopes import scope

from saruna.tickets import actions
from saruna.tickets.actions import ActionError
from saruna.tickets.files import disposition_header, may_show_inline, sniff_content_type
from saruna.tickets.models import MessageType, StoredFile, Visibility

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


def _zip(names):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


def _odt():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (_zip(["a.txt"]), "application/zip"),
        (_zip(["[Content_Types].xml", "word/document.xml"]),
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (_zip(["[Content_Types].xml", "xl/workbook.xml"]),
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (_odt(), "application/vnd.oasis.opendocument.text"),
        ("Grüße, plain text\n".encode(), "text/plain"),
        (b"  <!DOCTYPE html><html><script>alert(1)</script>", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        (b'<?xml version="1.0"?><x/>', "application/xml"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"PK\x03\x04 broken zip", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniffer(data, expected):
    assert sniff_content_type(io.BytesIO(data)) == expected


def test_lying_extension_is_ignored_and_html_is_never_inline(scoped, agent):
    stored = actions.store_file(scoped, "cute-cat.png", b"<html><script>alert(1)</script>",
                                actor=agent)
    assert stored.content_type == "text/html"
    assert not may_show_inline(stored.content_type)
    header = disposition_header(stored.name, stored.content_type, inline=True)
    assert header.startswith("attachment")
    svg = actions.store_file(scoped, "logo.jpg", b"<svg onload='alert(1)'></svg>")
    assert svg.content_type == "image/svg+xml"
    assert disposition_header(svg.name, svg.content_type, inline=True).startswith("attachment")


def test_pdf_named_exe_is_a_pdf_and_may_be_inline(scoped):
    stored = actions.store_file(scoped, "invoice.exe", PDF)
    assert stored.content_type == "application/pdf"
    assert disposition_header(stored.name, stored.content_type, inline=True).startswith("inline")
    assert disposition_header(stored.name, stored.content_type, inline=False).startswith(
        "attachment"
    )


def test_file_lands_in_the_accounts_own_folder(two_tenants, settings):
    with scope(account=two_tenants.a):
        a = actions.store_file(two_tenants.a, "a.png", PNG)
    with scope(account=two_tenants.b):
        b = actions.store_file(two_tenants.b, "b.png", PNG)
    root = Path(settings.MEDIA_ROOT)
    path_a = root / two_tenants.a.pk / "files" / a.public_id[:2] / a.public_id
    assert path_a.read_bytes() == PNG
    assert (root / two_tenants.b.pk / "files" / b.public_id[:2] / b.public_id).exists()
    assert a.size == len(PNG) and a.sha256 == hashlib.sha256(PNG).hexdigest()
    assert not a.public_id.startswith("view")
    with scope(account=two_tenants.b):
        assert not StoredFile.objects.filter(pk=a.pk).exists()


def test_size_limit(scoped, settings):
    settings.SARUNA_MAX_ATTACHMENT_BYTES = 1000
    actions.store_file(scoped, "ok.txt", b"x" * 1000)
    with pytest.raises(ActionError) as err:
        actions.store_file(scoped, "big.txt", io.BytesIO(b"x" * 1001))
    assert err.value.code == "too_large"
    assert StoredFile.objects.count() == 1


def test_path_and_control_characters_are_dropped_from_names(scoped):
    stored = actions.store_file(scoped, "../../etc/pass\x00wd\r\n.txt", b"hi")
    assert stored.name == "passwd.txt"


def test_files_on_reply_and_note_become_file_messages(scoped, ticket, agent):
    pdf = actions.store_file(scoped, "invoice.pdf", PDF, actor=agent)
    reply = actions.add_agent_reply(ticket, agent, "See attached", files=[pdf])
    file_message = reply.messages.get(type=MessageType.FILE)
    rows = json.loads(file_message.body)
    assert rows[0] == ["key", "value"]
    fields = dict(rows[1:])
    assert fields["id"] == pdf.public_id and fields["type"] == "application/pdf"
    assert fields["size"] == str(len(PDF))
    assert fields["view_url"] == f"/files/{pdf.public_id}/view"
    assert fields["download_url"] == f"//acme.saruna.test/files/{pdf.public_id}/download"
    pdf.refresh_from_db()
    assert pdf.message == file_message

    png = actions.store_file(scoped, "screen.png", PNG, actor=agent)
    note = actions.add_internal_note(ticket, agent, "", files=[png])
    note_file = note.messages.get()
    assert (note_file.type, note_file.visibility) == (MessageType.NOTE_FILE, Visibility.INTERNAL)
    with pytest.raises(ActionError):
        actions.attach_file(reply, png)


def test_unattached_uploads_are_purged_after_a_day(scoped, ticket, agent, settings):
    from saruna.tickets.tasks import purge_unattached_files

    t0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        loose = actions.store_file(scoped, "loose.txt", b"forgotten")
        used = actions.store_file(scoped, "used.txt", b"attached")
        actions.add_agent_reply(ticket, agent, "file", files=[used])
    path = Path(settings.MEDIA_ROOT) / loose.file.name
    assert path.exists()
    with time_machine.travel(t0 + dt.timedelta(hours=23), tick=False):
        purge_unattached_files.call_local()
    assert StoredFile.objects.count() == 2
    with time_machine.travel(t0 + dt.timedelta(hours=25), tick=False):
        purge_unattached_files.call_local()
    assert list(StoredFile.objects.all()) == [used]
    assert not path.exists()
