"""Customers download the files of a ticket's public messages from its portal link."""

import re
from urllib.parse import quote

from django_scopes import scope

from saruna.contacts.actions import create_contact
from saruna.tickets import actions
from saruna.tickets.models import Status
from tests.tenancy import host_client

PDF = b"%PDF-1.4\n% a customer's invoice\n%%EOF\n"
HOSTILE = b"<html><script>alert(document.cookie)</script></html>"


def link(ticket):
    return f"/portal/t/{ticket.public_access_urlcode}/"


def file_link(ticket, stored):
    return f"{link(ticket)}files/{stored.public_id}/"


def body(response):
    return b"".join(response.streaming_content)


def reply_with(ticket, agent, name, content, *, note=False):
    stored = actions.store_file(ticket.account, name, content, actor=agent)
    if note:
        actions.add_internal_note(ticket, agent, "<p>For agents</p>", files=[stored])
    else:
        actions.add_agent_reply(ticket, agent, "<p>Here you go</p>", files=[stored])
    return stored


def test_an_attachment_is_linked_and_downloads_with_its_bytes(account, agent, scoped, ticket):
    stored = reply_with(ticket, agent, 'Rēķins "2024".pdf', PDF)
    client = host_client(account)  # nobody logged in: the link is the key
    page = client.get(link(ticket)).content.decode()
    assert f'<a href="{file_link(ticket, stored)}">Rēķins &quot;2024&quot;.pdf</a>' in page

    response = client.get(file_link(ticket, stored))
    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    # Always a download for customers, even for a type agents may view inline.
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''" + quote('Rēķins "2024".pdf'))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")


def test_a_hostile_file_and_name_stay_inert(account, agent, scoped, ticket):
    name = "<img src=x onerror=alert(1)>.html"
    stored = reply_with(ticket, agent, name, HOSTILE)
    client = host_client(account)
    page = client.get(link(ticket)).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.html</a>" in page

    response = client.get(file_link(ticket, stored))
    assert response.status_code == 200 and body(response) == HOSTILE
    assert response["Content-Type"] == "text/html"  # sniffed, and never rendered:
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_customers_own_attachment_downloads(account, scoped, ticket, customer):
    stored = actions.store_file(account, "photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    actions.add_customer_message(ticket, customer, "A photo of the fire", files=[stored])
    response = host_client(account).get(file_link(ticket, stored))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="photo.png"'


def test_an_internal_notes_file_is_not_found(account, agent, scoped, ticket):
    secret = reply_with(ticket, agent, "salaries.pdf", PDF, note=True)
    client = host_client(account)
    assert "salaries.pdf" not in client.get(link(ticket)).content.decode()
    response = client.get(file_link(ticket, secret))
    assert response.status_code == 404
    assert b"%PDF" not in response.content


def test_files_not_of_this_ticket_are_not_found(account, agent, scoped, ticket, customer):
    other_ticket = actions.open_ticket(account, "Fax broken", "Fax too", customer)
    others = reply_with(other_ticket, agent, "fax.pdf", PDF)
    unattached = actions.store_file(account, "draft.pdf", PDF, actor=agent)
    client = host_client(account)
    assert client.get(file_link(other_ticket, others)).status_code == 200
    for stored in (others, unattached):
        assert client.get(file_link(ticket, stored)).status_code == 404
    assert client.get(f"{link(ticket)}files/nosuchid/").status_code == 404


def test_a_wrong_link_finds_no_file(account, agent, scoped, ticket):
    stored = reply_with(ticket, agent, "invoice.pdf", PDF)
    client = host_client(account)
    assert client.get(f"/portal/t/not-a-real-code/files/{stored.public_id}/").status_code == 404
    code = ticket.public_access_urlcode
    assert client.get(f"/portal/t/{code[:-1]}/files/{stored.public_id}/").status_code == 404


def test_files_of_a_deleted_ticket_are_not_found(account, agent, scoped, ticket):
    stored = reply_with(ticket, agent, "invoice.pdf", PDF)
    actions.change_status(ticket, Status.DELETED, actor=agent)
    assert host_client(account).get(file_link(ticket, stored)).status_code == 404


def test_a_file_is_only_downloaded(account, agent, scoped, ticket):
    stored = reply_with(ticket, agent, "invoice.pdf", PDF)
    assert host_client(account).post(file_link(ticket, stored)).status_code == 405


def test_a_merged_tickets_file_link_leads_to_the_surviving_ticket(
    account, agent, scoped, ticket, customer
):
    other = actions.open_ticket(account, "Also the fax", "Fax too", customer)
    stored = reply_with(other, agent, "fax.pdf", PDF)
    actions.merge_tickets(ticket, [other])
    client = host_client(account)
    response = client.get(file_link(other, stored))
    assert response.status_code == 302 and response["Location"] == file_link(ticket, stored)
    assert body(client.get(response["Location"])) == PDF


def test_account_a_files_are_not_found_on_b(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    with scope(account=a):
        customer = create_contact(a, firstname="Cleo", emails=["cleo@example.com"])
        ticket = actions.open_ticket(a, "Alpha ticket", "Hello", customer)
        stored = reply_with(ticket, two_tenants.agent_a, "Alpha plan.pdf", PDF)
    path = file_link(ticket, stored)
    other = host_client(b).get(path)
    assert other.status_code == 404
    assert b"Alpha" not in other.content and b"%PDF" not in other.content
    # The same link and file id under a ticket of B is no way in either.
    with scope(account=b):
        customer_b = create_contact(b, firstname="Bea", emails=["bea@example.com"])
        ticket_b = actions.open_ticket(b, "Beta ticket", "Hi", customer_b)
    assert host_client(b).get(file_link(ticket_b, stored)).status_code == 404
    assert body(host_client(a).get(path)) == PDF


def test_the_page_links_only_files_it_shows(account, agent, scoped, ticket):
    shown = reply_with(ticket, agent, "shown.pdf", PDF)
    hidden = reply_with(ticket, agent, "hidden.pdf", PDF, note=True)
    page = host_client(account).get(link(ticket)).content.decode()
    linked = set(re.findall(r'href="[^"]*/files/([^/"]+)/"', page))
    assert linked == {shown.public_id}
    assert hidden.public_id not in page
