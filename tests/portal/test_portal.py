"""The customer portal: a ticket by its link, magic-link login, a contact's own tickets."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_scopes import scope

from saruna.contacts.actions import create_contact
from saruna.tickets import actions
from saruna.tickets.models import Status, Ticket
from saruna.tickets.queries import conversation
from tests.tenancy import host_client
from tests.tickets.test_html import PAYLOADS, assert_inert


def link(ticket):
    return f"/portal/t/{ticket.public_access_urlcode}/"


def conversation_html(response):
    """The messages of the page, without the page's own list and time elements."""
    page = response.content.decode()
    start = page.index("<ol class=\"portal-conversation\"")
    html = page[page.index(">", start) + 1:page.index("</ol>", start)]
    return re.sub(r"</?time[^>]*>", "", html)


def test_ticket_link_shows_the_public_conversation_only(account, agent, scoped, ticket):
    actions.add_agent_reply(ticket, agent, "<p>Try turning it off.</p>")
    actions.add_internal_note(ticket, agent, "<p>Customer sounds angry, SECRET-NOTE</p>")
    actions.assign_ticket(ticket, agent, actor=agent)
    actions.change_status(ticket, Status.RESOLVED, actor=agent)
    response = host_client(account).get(link(ticket))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Printer on fire" in page and ticket.code in page
    assert "It is &lt;b&gt;really&lt;/b&gt; on fire." in page  # a text message stays text
    assert "<p>Try turning it off.</p>" in page
    assert "<strong>You</strong>" in page and "<strong>Agent</strong>" in page
    assert "SECRET-NOTE" not in page
    assert "Resolved</p>" not in conversation_html(response)  # the system notice
    assert "Reply" in page and 'name="body"' in page


def test_customer_reply_reopens_and_reaches_agents(account, agent, scoped, ticket):
    actions.add_agent_reply(ticket, agent, "<p>Fixed?</p>")
    actions.change_status(ticket, Status.RESOLVED, actor=agent)
    client = host_client(account)
    response = client.post(link(ticket), {"body": "Still <burning>!\nHelp."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    last = list(conversation(ticket))[-1]
    assert last.author_contact == ticket.owner
    assert last.messages.get().text == "Still <burning>!\nHelp."
    page = client.get(link(ticket)).content.decode()
    assert "Your reply was sent." in page
    assert "Still &lt;burning&gt;!<br>Help." in page


def test_an_empty_reply_is_refused(account, scoped, ticket):
    response = host_client(account).post(link(ticket), {"body": "  "})
    assert response.status_code == 400
    assert ticket.groups.count() == 1


def test_deleted_spam_and_unknown_links_are_not_found(account, agent, scoped, ticket):
    client = host_client(account)
    assert client.get("/portal/t/not-a-real-code/").status_code == 404
    actions.change_status(ticket, Status.SPAM, actor=agent)
    assert client.get(link(ticket)).status_code == 404
    assert client.post(link(ticket), {"body": "hi"}).status_code == 404


def test_a_merged_ticket_link_leads_to_the_surviving_ticket(account, scoped, ticket, customer):
    other = actions.open_ticket(account, "Also the fax", "Fax too", customer)
    actions.merge_tickets(ticket, [other])
    response = host_client(account).get(link(other))
    assert response.status_code == 302 and response["Location"] == link(ticket)


def login_link_from_mail():
    found = re.search(r"http://acme\.saruna\.test(/portal/login/\S+/)", mail.outbox[-1].body)
    return found.group(1)


def test_magic_link_logs_in_once(account, scoped, ticket, customer,
                                 django_capture_on_commit_callbacks):
    client = host_client(account)
    assert client.get("/portal/").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/portal/login/", {"email": "CLEO@example.com"})
    assert sent.status_code == 200
    assert mail.outbox[-1].to == ["cleo@example.com"]
    path = login_link_from_mail()

    # Opening the link only asks to confirm: a mail scanner's visit does not spend it.
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.session["portal_contact_id"] == customer.pk
    home = client.get("/portal/").content.decode()
    assert "Printer on fire" in home and link(ticket) in home

    # Spent: neither this browser nor another one can use it again.
    assert host_client(account).get(path).status_code == 410
    assert host_client(account).post(path).status_code == 410

    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302
    assert "portal_contact_id" not in client.session


def test_magic_link_expires_after_30_minutes(account, scoped, customer,
                                             django_capture_on_commit_callbacks):
    client = host_client(account)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/login/", {"email": "cleo@example.com"})
    path = login_link_from_mail()
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = client.post(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert "portal_contact_id" not in client.session


def test_unknown_address_gets_the_same_answer_and_no_mail(
    account, scoped, customer, django_capture_on_commit_callbacks
):
    client = host_client(account)
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/portal/login/", {"email": "cleo@example.com"})
        unknown = client.post("/portal/login/", {"email": "nobody@example.com"})
    assert len(mail.outbox) == 1
    assert known.status_code == unknown.status_code == 200

    def normalised(response):  # the typed address and the CSRF tokens aside
        page = response.content.decode().replace("nobody@example.com", "cleo@example.com")
        return re.sub(r'"X-CSRFToken": "[^"]+"|data-csrf="[^"]+"', "", page)

    assert normalised(known) == normalised(unknown)


def test_login_requests_are_rate_limited(account, scoped, customer,
                                         django_capture_on_commit_callbacks):
    client = host_client(account)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert client.post("/portal/login/", {"email": "cleo@example.com"}).status_code == 200
        refused = client.post("/portal/login/", {"email": "cleo@example.com"})
    assert refused.status_code == 429
    assert len(mail.outbox) == 3


def log_in(client, account, contact):
    """What the magic link does, without the mail round trip."""
    session = client.session
    session["portal_contact_id"] = contact.pk
    session.save()


def test_a_contact_sees_only_their_own_tickets(account, agent, scoped, ticket, customer):
    other = create_contact(account, firstname="Otto", emails=["otto@example.com"])
    actions.open_ticket(account, "Otto's secret ticket", "Mine", other)
    trashed = actions.open_ticket(account, "Trashed one", "Old", customer)
    actions.change_status(trashed, Status.DELETED, actor=agent)
    client = host_client(account)
    log_in(client, account, customer)
    page = client.get("/portal/").content.decode()
    assert "Printer on fire" in page
    assert "Otto" not in page and "Trashed one" not in page


def test_portal_session_is_not_an_agent_login(account, scoped, customer):
    client = host_client(account)
    log_in(client, account, customer)
    assert client.get("/settings/forms/").status_code == 302  # to the agents' login page


def test_account_a_links_are_not_found_on_b(two_tenants, django_capture_on_commit_callbacks):
    a, b = two_tenants.a, two_tenants.b
    with scope(account=a):
        customer = create_contact(a, firstname="Cleo", emails=["cleo@example.com"])
        ticket = actions.open_ticket(a, "Alpha ticket", "Hello", customer)
    client_a = host_client(a)
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post("/portal/login/", {"email": "cleo@example.com"})
    path = re.search(r"http://alpha\.saruna\.test(/portal/login/\S+/)",
                     mail.outbox[-1].body).group(1)

    client_b = host_client(b)
    for response in (client_b.get(link(ticket)), client_b.post(link(ticket), {"body": "x"}),
                     client_b.get(path), client_b.post(path)):
        assert response.status_code == 404
        assert b"Alpha" not in response.content
    assert "portal_contact_id" not in client_b.session
    # A's own host still takes both.
    assert client_a.get(link(ticket)).status_code == 200
    assert client_a.post(path).status_code == 302


@pytest.mark.parametrize("payload", PAYLOADS)
def test_stored_xss_in_form_answers_is_inert_in_the_portal(account, agent, payload, settings):
    from tests.contactforms.helpers import answers, make_form

    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    contact_form = make_form(account)
    client = host_client(account)
    response = client.post(f"/f/{contact_form.public_id}/submit", answers(
        client, contact_form, name=payload[:200], subject=payload, message=payload,
        q_plan="Pro"))
    assert response.status_code == 302, response.content.decode()[:2000]
    with scope(account=account):
        ticket = Ticket.objects.get()
        # An agent's HTML reply quoting it goes through the sanitiser too.
        actions.add_agent_reply(ticket, agent, f"<p>You wrote:</p>{payload}")
    page = client.get(link(ticket))
    assert page.status_code == 200
    assert_inert(conversation_html(page))
    title = re.search(r"<h1>(.*?)</h1>", page.content.decode(), re.S).group(1)
    assert "<" not in title


def test_errors_are_named_by_their_fields(account, scoped, ticket):
    page = host_client(account).post(link(ticket), {"body": ""}).content.decode()
    assert 'aria-describedby="id_body-errors"' in page and 'id="id_body-errors"' in page
    assert 'aria-invalid="true"' in page
    page = host_client(account).post("/portal/login/", {"email": "nope"}).content.decode()
    assert 'aria-describedby="id_email-errors"' in page and 'id="id_email-errors"' in page
