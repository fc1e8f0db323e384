"""Settings → Mailboxes and Settings → Mail problems, as an administrator uses them: what the
pages show, what they save, what bad input is told, and that agents cannot reach them."""

import base64
import hashlib

import pytest
from django_scopes import scope

from saruna.mail import imap, ingest, sending
from saruna.mail.models import InboundMail, Mailbox, OutgoingMail
from saruna.tickets import actions
from tests.factories import make_user
from tests.tenancy import host_client

SECRET = "s3cret-Pa55word"


def imap_fields(**changes):
    fields = {
        "name": "Support", "email": "support@acme.example", "kind": "imap",
        "department": "", "is_active": "on",
        "forward_local_part": "", "imap_host": "imap.acme.example", "imap_port": "993",
        "imap_security": "ssl", "imap_username": "support@acme.example",
        "imap_password": SECRET, "imap_folder": "INBOX", "processed_action": "flag",
        "processed_folder": "", "poll_seconds": "60", "use_idle": "on",
        "smtp_host": "", "smtp_port": "587", "smtp_security": "starttls",
        "smtp_username": "", "smtp_password": "", "dkim_selector": "", "dkim_private_key": "",
    }
    return {**fields, **changes}


def forward_fields(**changes):
    return imap_fields(**{"kind": "forward", "forward_local_part": "help", "imap_host": "",
                          "imap_username": "", "imap_password": "", **changes})


def toy_rsa_key():
    """A well-formed PEM RSA private key made of textbook numbers (p=61, q=53)."""
    def der(tag, body):
        return bytes([tag, len(body)]) + body

    numbers = (0, 3233, 17, 2753, 61, 53, 53, 49, 38)
    body = b"".join(der(2, n.to_bytes(n.bit_length() // 8 + 1, "big")) for n in numbers)
    encoded = base64.b64encode(der(0x30, body)).decode()
    return f"-----BEGIN RSA PRIVATE KEY-----\r\n{encoded}\r\n-----END RSA PRIVATE KEY-----\r\n"


@pytest.fixture
def scoped(account):
    with scope(account=account):
        yield account


@pytest.fixture
def admin_web(account):
    return host_client(account, make_user(account, "admin@acme.test", role="admin"))


@pytest.fixture
def agent_web(account, agent):
    return host_client(account, agent)


def make_mailbox(account, **fields):
    fields = {"name": "Support", "email": "support@acme.example", "kind": "imap",
              "imap_host": "imap.acme.example", "imap_username": "support",
              "imap_password": SECRET, **fields}
    return Mailbox.objects.create(account=account, **fields)


def failed_mail(account, raw=b"Subject: Hello\r\n\r\nBody\r\n", **fields):
    fields = {"envelope_from": "cleo@example.com", "error": "The mail has no From header.",
              "state": InboundMail.State.FAILED, **fields}
    return InboundMail.objects.create(
        account=account, source="smtp", raw=raw, sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw), **fields,
    )


def dead_mail(account, **fields):
    fields = {"to": ["cleo@example.com"], "subject": "Re: Printer on fire",
              "last_error": "The server said: 550 mailbox unavailable", "attempts": 8,
              "status": OutgoingMail.Status.DEAD, **fields}
    return OutgoingMail.objects.create(
        account=account, message_id="<saruna.x@acme.saruna.test>",
        from_email="support@acme.example", **fields,
    )


def test_agents_get_403_and_change_nothing(scoped, agent_web):
    mailbox = make_mailbox(scoped)
    inbound, outgoing = failed_mail(scoped), dead_mail(scoped)
    for path in ["/settings/mailboxes/", "/settings/mailboxes/new/",
                 f"/settings/mailboxes/{mailbox.public_id}/", "/settings/mail-problems/",
                 f"/settings/mail-problems/in/{inbound.pk}/mail.eml"]:
        assert agent_web.get(path).status_code == 403, path
    for path in [f"/settings/mailboxes/{mailbox.public_id}/delete/",
                 f"/settings/mailboxes/{mailbox.public_id}/test/",
                 f"/settings/mail-problems/in/{inbound.pk}/retry/",
                 f"/settings/mail-problems/out/{outgoing.pk}/retry/"]:
        assert agent_web.post(path, {"server": "imap"}).status_code == 403, path
    assert agent_web.post("/settings/mailboxes/new/", forward_fields()).status_code == 403
    assert list(Mailbox.objects.values_list("name", flat=True)) == ["Support"]
    assert OutgoingMail.objects.get().status == OutgoingMail.Status.DEAD
    index = agent_web.get("/settings/").content.decode()
    assert "Mailboxes" not in index and "Mail problems" not in index


def test_settings_index_links_both_pages(admin_web):
    index = admin_web.get("/settings/").content.decode()
    assert 'href="/settings/mailboxes/"' in index
    assert 'href="/settings/mail-problems/"' in index


def test_admin_connects_a_forwarding_address(scoped, admin_web):
    sales = actions.save_department(scoped, name="Sales")
    form = admin_web.get("/settings/mailboxes/new/").content.decode()
    assert "@acme.saruna.test" in form and "Copy" in form

    response = admin_web.post("/settings/mailboxes/new/", forward_fields(
        name="Sales desk", email="sales@acme.example", forward_local_part="Sales.Desk",
        department=sales.public_id))
    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.kind, mailbox.forward_local_part, mailbox.department) == (
        "forward", "sales.desk", sales)

    listing = admin_web.get("/settings/mailboxes/").content.decode()
    assert "Sales desk" in listing and "sales@acme.example" in listing
    assert "Forwarding address" in listing and "Sales" in listing
    edit = admin_web.get(f"/settings/mailboxes/{mailbox.public_id}/").content.decode()
    assert "sales.desk@acme.saruna.test" in edit


def test_admin_edits_and_deletes_an_imap_mailbox(scoped, admin_web):
    assert admin_web.post("/settings/mailboxes/new/", imap_fields()).status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.imap_host, mailbox.imap_password, mailbox.use_idle) == (
        "imap.acme.example", SECRET, True)

    response = admin_web.post(f"/settings/mailboxes/{mailbox.public_id}/", imap_fields(
        name="Help", imap_password="", processed_action="move", processed_folder="Done",
        use_idle="", is_active=""))
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.processed_action, mailbox.processed_folder) == (
        "Help", "move", "Done")
    assert not mailbox.use_idle and not mailbox.is_active
    assert mailbox.imap_password == SECRET  # left empty: kept

    admin_web.post(f"/settings/mailboxes/{mailbox.public_id}/",
                   imap_fields(imap_password="n3w-password"))
    mailbox.refresh_from_db()
    assert mailbox.imap_password == "n3w-password"

    confirm = admin_web.get(f"/settings/mailboxes/{mailbox.public_id}/delete/")
    assert "Support" in confirm.content.decode()
    assert admin_web.post(f"/settings/mailboxes/{mailbox.public_id}/delete/").status_code == 302
    assert not Mailbox.objects.exists()


def test_pointing_a_mailbox_at_another_folder_starts_its_progress_over(scoped, admin_web):
    mailbox = make_mailbox(scoped, imap_uidvalidity=7, imap_last_uid=40,
                           last_error="Login refused")
    url = f"/settings/mailboxes/{mailbox.public_id}/"
    admin_web.post(url, imap_fields(name="Renamed", imap_username="support", imap_password=""))
    mailbox.refresh_from_db()
    assert (mailbox.imap_uidvalidity, mailbox.imap_last_uid) == (7, 40)  # same folder
    admin_web.post(url, imap_fields(imap_username="support", imap_folder="Support",
                                    imap_password=""))
    mailbox.refresh_from_db()
    assert (mailbox.imap_uidvalidity, mailbox.imap_last_uid, mailbox.last_error) == (None, 0, "")


def test_stored_passwords_and_key_never_reach_the_page(scoped, admin_web):
    mailbox = make_mailbox(scoped, smtp_host="smtp.acme.example", smtp_password="smtp-" + SECRET,
                           dkim_selector="s1", dkim_private_key=toy_rsa_key())
    page = admin_web.get(f"/settings/mailboxes/{mailbox.public_id}/").content.decode()
    invalid = admin_web.post(f"/settings/mailboxes/{mailbox.public_id}/",
                             imap_fields(imap_port="0", imap_password=""))
    assert invalid.status_code == 200
    for html in (page, invalid.content.decode()):
        assert SECRET not in html and "MB0CAQAC" not in html
        assert "Stored. Leave empty to keep it." in html


def test_bad_input_is_explained_and_changes_nothing(scoped, admin_web):
    mailbox = make_mailbox(scoped, forward_local_part="")
    make_mailbox(scoped, name="Sales", kind="forward", forward_local_part="sales")
    edit = f"/settings/mailboxes/{mailbox.public_id}/"
    cases = [
        (imap_fields(imap_port="70000"), "Ensure this value is less than or equal to 65535."),
        (imap_fields(smtp_port="0"), "Ensure this value is greater than or equal to 1."),
        (imap_fields(processed_action="move"), "Enter the folder to move mail to."),
        (imap_fields(imap_host=""), "Enter the IMAP server."),
        (forward_fields(forward_local_part="sales"),
         "Another mailbox already uses this forwarding address."),
        (forward_fields(forward_local_part="help+me"), "Use lower-case letters, digits"),
        (forward_fields(forward_local_part=""), "Choose the name of the forwarding address."),
        (imap_fields(dkim_selector="s1", dkim_private_key="not a key"),
         "This is not an RSA private key in PEM format."),
        (imap_fields(dkim_selector="s1"), "Paste the private key for this selector."),
    ]
    for fields, message in cases:
        response = admin_web.post(edit, fields)
        assert response.status_code == 200, message
        assert message in response.content.decode(), message
    mailbox.refresh_from_db()
    assert (mailbox.kind, mailbox.imap_port, mailbox.processed_action, mailbox.dkim_selector) == (
        "imap", 993, "flag", "")


def test_hidden_fields_of_the_other_kind_do_not_block_saving(scoped, admin_web):
    response = admin_web.post("/settings/mailboxes/new/", forward_fields(imap_port="not a port"))
    assert response.status_code == 302
    assert Mailbox.objects.get().imap_port == 993


def test_dkim_key_is_stored_and_the_dns_record_named(scoped, admin_web):
    mailbox = make_mailbox(scoped)
    edit = f"/settings/mailboxes/{mailbox.public_id}/"
    admin_web.post(edit, imap_fields(dkim_selector="mail2026", dkim_private_key=toy_rsa_key(),
                                     imap_password=""))
    mailbox.refresh_from_db()
    assert mailbox.dkim_private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\nMB0C")
    assert "mail2026._domainkey.acme.example" in admin_web.get(edit).content.decode()

    admin_web.post(edit, imap_fields(dkim_selector="", imap_password=""))
    mailbox.refresh_from_db()
    assert (mailbox.dkim_selector, mailbox.dkim_private_key) == ("", "")


@pytest.fixture
def fake_servers(monkeypatch):
    """Stands in for the real IMAP and SMTP checks (their own tests talk to real servers)."""
    calls = []

    def fake_imap(*args):
        calls.append(("imap", *args))
        return None

    def fake_smtp(*args):
        calls.append(("smtp", *args))
        return "The server smtp.acme.example refused the password <b>for support</b>."

    monkeypatch.setattr(imap, "test_connection", fake_imap)
    monkeypatch.setattr(sending, "test_smtp", fake_smtp)
    return calls


def test_test_connection_reports_success_and_errors(scoped, admin_web, fake_servers):
    mailbox = make_mailbox(scoped, smtp_host="smtp.acme.example", smtp_password="smtp-pass")
    url = f"/settings/mailboxes/{mailbox.public_id}/test/"

    ok = admin_web.post(url, {**imap_fields(imap_host="other.example", imap_password=""),
                              "server": "imap"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and "Connected." in ok.content.decode()
    assert fake_servers[-1] == ("imap", "other.example", 993, "ssl", "support@acme.example",
                                SECRET, "INBOX")  # as typed, with the stored password

    refused = admin_web.post(url, {**imap_fields(smtp_host="smtp.acme.example",
                                                 smtp_username="support"), "server": "smtp"})
    html = refused.content.decode()
    assert "refused the password &lt;b&gt;for support&lt;/b&gt;." in html
    assert "<b>" not in html and "Connected." not in html
    assert fake_servers[-1] == ("smtp", "smtp.acme.example", 587, "starttls", "support",
                                "smtp-pass")

    mailbox.refresh_from_db()
    assert mailbox.imap_host == "imap.acme.example"  # testing saves nothing


def test_test_connection_checks_the_values_first(scoped, admin_web, fake_servers):
    bad_port = admin_web.post("/settings/mailboxes/new/test/",
                              {**imap_fields(imap_port="99999"), "server": "imap"})
    assert "IMAP port: Ensure this value is less than or equal to 65535." in (
        bad_port.content.decode())
    no_host = admin_web.post("/settings/mailboxes/new/test/",
                             {**imap_fields(), "server": "smtp"})
    assert "Enter the server to test." in no_host.content.decode()
    assert fake_servers == []


def test_mail_problems_list_failed_and_dead_mail(scoped, admin_web):
    failed_mail(scoped, error="LookupError: unknown encoding: x-broken\n"
                              "  at parser.py:88 in _decode")
    failed_mail(scoped, state=InboundMail.State.PROCESSED, envelope_from="fine@example.com")
    dead_mail(scoped)
    dead_mail(scoped, status=OutgoingMail.Status.SENT, subject="Delivered fine")

    page = admin_web.get("/settings/mail-problems/").content.decode()
    assert "cleo@example.com" in page
    assert '<span class="error">LookupError: unknown encoding: x-broken</span>' in page
    assert "at parser.py:88 in _decode" in page  # under "Details"
    assert "fine@example.com" not in page
    assert "Re: Printer on fire" in page and "550 mailbox unavailable" in page
    assert "Delivered fine" not in page
    assert "Try again" in page and "Send again" in page and "Download .eml" in page


def test_try_again_replays_the_mail_and_says_what_happened(scoped, admin_web, monkeypatch):
    inbound = failed_mail(scoped)
    replayed = []

    def fake_replay(inbound_id):
        replayed.append(inbound_id)
        InboundMail.objects.filter(pk=inbound_id).update(state=InboundMail.State.PROCESSED)
        return f"Mail {inbound_id}: Processed. Ticket ABC-DEF-123."

    monkeypatch.setattr(ingest, "replay", fake_replay)
    response = admin_web.post(f"/settings/mail-problems/in/{inbound.pk}/retry/", follow=True)
    assert replayed == [inbound.pk]
    page = response.content.decode()
    assert "Ticket ABC-DEF-123." in page and "message-success" in page
    assert "The mail has no From header." not in page  # gone from the list


def test_eml_download_is_the_raw_mail_as_an_attachment(scoped, admin_web):
    raw = "Subject: Grüße\r\nFrom: <cleo@example.com>\r\n\r\n<script>x</script>\r\n".encode()
    inbound = failed_mail(scoped, raw=raw)
    response = admin_web.get(f"/settings/mail-problems/in/{inbound.pk}/mail.eml")
    assert response.status_code == 200
    assert response.content == raw
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="mail-{inbound.pk}.eml"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_send_again_puts_dead_mail_back_in_the_queue(scoped, admin_web):
    outgoing = dead_mail(scoped)
    response = admin_web.post(f"/settings/mail-problems/out/{outgoing.pk}/retry/", follow=True)
    assert "The mail will be sent again in a moment." in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.status != OutgoingMail.Status.DEAD
    assert "Re: Printer on fire" not in admin_web.get("/settings/mail-problems/").content.decode()


def test_markup_in_names_errors_and_subjects_is_shown_as_text(scoped, admin_web):
    attack = '<img src=x onerror="alert(1)">'
    make_mailbox(scoped, name=f"Support {attack}", last_error=f"Login failed {attack}")
    failed_mail(scoped, error=f"Broken {attack}", envelope_from=f"{attack}@example.com")
    dead_mail(scoped, subject=f"Hello {attack}", last_error=f"Refused {attack}",
              to=[f"{attack}@example.com"])
    for path in ("/settings/mailboxes/", "/settings/mail-problems/"):
        html = admin_web.get(path).content.decode()
        assert "<img" not in html, path
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html, path


def test_another_accounts_mailboxes_and_mail_are_not_found(two_tenants):
    with scope(account=two_tenants.a):
        mailbox = make_mailbox(two_tenants.a)
        inbound, outgoing = failed_mail(two_tenants.a), dead_mail(two_tenants.a)
    two_tenants.assert_isolated(f"/settings/mailboxes/{mailbox.public_id}/")
    two_tenants.assert_isolated(f"/settings/mail-problems/in/{inbound.pk}/mail.eml")
    two_tenants.assert_isolated(f"/settings/mailboxes/{mailbox.public_id}/test/", method="post",
                                data={"server": "smtp"})
    beta = two_tenants.client_b()
    assert beta.post(f"/settings/mail-problems/in/{inbound.pk}/retry/").status_code == 404
    assert beta.post(f"/settings/mail-problems/out/{outgoing.pk}/retry/").status_code == 404
    problems = beta.get("/settings/mail-problems/").content.decode()
    assert "cleo@example.com" not in problems and "Printer on fire" not in problems
