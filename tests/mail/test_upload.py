"""Raw mail handed in by the account's own mail system: posted to /mail/inbound/<mailbox>/
with the mailbox's token, or piped into ``saruna mail import``. Stored exactly, processed
into a ticket, and refused without a trace for anyone without the token."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django_scopes import scope, scopes_disabled

from saruna.mail import views
from saruna.mail.models import InboundMail, Mailbox
from saruna.tickets import actions
from saruna.tickets.models import Ticket
from tests.factories import make_account, make_user
from tests.tenancy import host_client

State = InboundMail.State


@pytest.fixture
def mailbox(account):
    with scope(account=account):
        sales = actions.save_department(account, name="Sales")
        return Mailbox.objects.create(account=account, name="Sales", email="sales@acme.example",
                                      department=sales)


@pytest.fixture
def upload(account, mailbox, django_capture_on_commit_callbacks):
    """``upload(raw, token=..., path=..., query=...)``: posts like curl does, running what the
    commit queues (the processing task)."""

    def post(raw, *, token=None, path=None, query="", **extra):
        client = host_client(account)
        token = mailbox.upload_token if token is None else token
        if token:
            extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
        url = (path or f"/mail/inbound/{mailbox.public_id}/") + query
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, raw, content_type="message/rfc822", **extra)

    return post


def stored():
    with scopes_disabled():
        return list(InboundMail.objects.all())


def test_an_upload_is_stored_exactly_and_becomes_a_ticket(account, mailbox, mail_bytes, upload,
                                                          settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100  # a form's limit, not a mail's
    raw = mail_bytes(subject="Invoice missing", text="Where is my invoice?\r\n")
    response = upload(raw, query="?from=cleo@example.com&to=sales@acme.example&to=b@acme.example")
    assert response.status_code == 202
    mail = stored()[0]
    assert response.json() == {"id": mail.pk, "state": "received"}
    assert bytes(mail.raw) == raw
    assert (mail.source, mail.mailbox, mail.state) == ("api", mailbox, State.PROCESSED)
    assert (mail.envelope_from, mail.envelope_to) == (
        "cleo@example.com", ["sales@acme.example", "b@acme.example"])
    with scope(account=account):
        ticket = Ticket.objects.get()
        assert (ticket.subject, ticket.department.name) == ("Invoice missing", "Sales")


def test_no_right_token_no_mail_and_no_hint_why(account, mailbox, mail_bytes, upload):
    raw = mail_bytes()
    other = make_account("other")
    with scope(account=other):
        theirs = Mailbox.objects.create(account=other, name="Theirs", email="in@other.example")
    answers = [
        upload(raw, token=""),
        upload(raw, token="wrong"),
        upload(raw, token=mailbox.upload_token + "x"),
        upload(raw, HTTP_AUTHORIZATION=f"Basic {mailbox.upload_token}"),
        upload(raw, path="/mail/inbound/nosuchid/"),
        # Another account's mailbox with its own token, on this account's host.
        upload(raw, token=theirs.upload_token, path=f"/mail/inbound/{theirs.public_id}/"),
    ]
    for response in answers:
        assert response.status_code == 401
        assert response.json() == {"message": "The upload token is missing or wrong."}
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert stored() == []


def test_a_new_token_replaces_the_old_one_at_once(account, mailbox, mail_bytes, upload):
    old = mailbox.upload_token
    admin = host_client(account, make_user(account, "admin@acme.test", role="admin"))
    edit = f"/settings/mailboxes/{mailbox.public_id}/"
    response = admin.post(f"{edit}token/", follow=True)
    assert response.redirect_chain[-1][0] == edit
    assert "The old one no longer works." in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.upload_token != old and len(mailbox.upload_token) >= 40
    assert mailbox.upload_token in response.content.decode()
    assert upload(mail_bytes(), token=old).status_code == 401
    assert upload(mail_bytes()).status_code == 202


def test_oversized_empty_and_not_posted(account, mailbox, mail_bytes, upload, settings):
    settings.SARUNA_MAIL_MAX_BYTES = 1000
    too_big = upload(mail_bytes(text="x" * 2000))
    assert too_big.status_code == 413
    assert too_big.json() == {"message": "The mail is larger than this service accepts."}
    empty = upload(b"")
    assert empty.status_code == 400
    assert empty.json() == {"message": "The request has no mail in its body."}
    fetched = host_client(account).get(f"/mail/inbound/{mailbox.public_id}/",
                                       HTTP_AUTHORIZATION=f"Bearer {mailbox.upload_token}")
    assert fetched.status_code == 405
    assert stored() == []


def test_a_turned_off_mailbox_takes_nothing(mailbox, mail_bytes, upload):
    mailbox.is_active = False
    mailbox.save(update_fields=["is_active"])
    response = upload(mail_bytes())
    assert (response.status_code, response.json()) == (
        403, {"message": "This mailbox is turned off."})
    assert stored() == []


def test_a_runaway_sender_is_slowed_down(mailbox, mail_bytes, upload, monkeypatch):
    monkeypatch.setattr(views, "UPLOAD_LIMIT", "2/m")
    codes = [upload(mail_bytes()).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert len(stored()) == 2


def test_the_edit_page_shows_the_token_and_how_to_use_it(account, mailbox):
    admin = host_client(account, make_user(account, "admin@acme.test", role="admin"))
    page = admin.get(f"/settings/mailboxes/{mailbox.public_id}/").content.decode()
    url = f"http://acme.saruna.test/mail/inbound/{mailbox.public_id}/"
    assert mailbox.upload_token in page and url in page
    assert f'-H "Authorization: Bearer {mailbox.upload_token}"' in page
    assert "New token" in page
    assert "Bearer" not in admin.get("/settings/mailboxes/new/").content.decode()
    agent = host_client(account, make_user(account, "agent@acme.test"))
    refused = agent.get(f"/settings/mailboxes/{mailbox.public_id}/")
    assert refused.status_code == 403 and mailbox.upload_token not in refused.content.decode()
    assert agent.post(f"/settings/mailboxes/{mailbox.public_id}/token/").status_code == 403
    old = mailbox.upload_token
    mailbox.refresh_from_db()
    assert mailbox.upload_token == old


def test_import_reads_standard_input(account, mailbox, mail_bytes, monkeypatch,
                                     django_capture_on_commit_callbacks):
    raw = mail_bytes(subject="Piped in")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("mail", "import", "--account", "acme", "--mailbox", mailbox.public_id,
                     stdout=out)
    mail = stored()[0]
    assert out.getvalue().strip() == str(mail.pk)
    assert (bytes(mail.raw), mail.source, mail.mailbox, mail.state) == (
        raw, "api", mailbox, State.PROCESSED)
    with scope(account=account):
        assert Ticket.objects.get().subject == "Piped in"


def test_import_reads_a_file_and_says_what_is_wrong(account, mailbox, mail_bytes, tmp_path,
                                                    settings):
    path = tmp_path / "mail.eml"
    path.write_bytes(mail_bytes(subject="From a file"))
    out = io.StringIO()
    call_command("mail", "import", "--account", "acme", str(path), stdout=out)
    mail = stored()[0]
    assert out.getvalue().strip() == str(mail.pk) and mail.mailbox is None

    # The exit statuses an MTA's pipe transport reads (sysexits.h): these bounce.
    problems = [
        (["--account", "nobody", str(path)], "There is no account “nobody”.", 67),
        (["--account", "acme", "--mailbox", "nosuchid", str(path)],
         "The account “acme” has no active mailbox “nosuchid”.", 67),
        (["--account", "acme", str(tmp_path / "missing.eml")], "Cannot read", 66),
    ]
    settings.SARUNA_MAIL_MAX_BYTES = 100
    problems.append(
        (["--account", "acme", str(path)], "more than SARUNA_MAIL_MAX_BYTES (100)", 65))
    for arguments, message, status in problems:
        with pytest.raises(CommandError, match=re.escape(message)) as refused:
            call_command("mail", "import", *arguments)
        assert refused.value.returncode == status
    assert len(stored()) == 1


def test_import_asks_the_mta_to_retry_when_the_mail_cannot_be_stored(
        account, tmp_path, mail_bytes, monkeypatch):
    path = tmp_path / "mail.eml"
    path.write_bytes(mail_bytes(subject="Database is down"))

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("saruna.mail.management.commands.mail.store_inbound", database_down)
    with pytest.raises(CommandError, match="try again later") as refused:
        call_command("mail", "import", "--account", "acme", str(path))
    assert refused.value.returncode == 75  # EX_TEMPFAIL: the MTA keeps the mail and retries
