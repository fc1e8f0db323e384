"""The reply composer: rich text sanitised on write, the reply's e-mail subject, and
predefined answers fetched with their variables filled, for visible tickets and the agent's
own or shared answers only."""

import pytest
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions, queries
from saruna.tickets.forms import ReplyForm
from saruna.tickets.models import Message, MessageType
from tests.tenancy import host_client

RICH = (
    '<p>Hello <strong>there</strong> <em>friend</em></p>'
    '<ul><li>first</li><li>second</li></ul>'
    '<ol><li>one</li></ol>'
    '<p><a href="https://example.com/help">help page</a></p>'
    '<script>alert("boom")</script>'
    '<p onclick="alert(1)">click <img src="x" onerror="alert(2)"></p>'
    '<p><a href="javascript:alert(3)">bad link</a></p>'
)


def reply_url(ticket) -> str:
    return f"/tickets/{ticket.public_id}/reply/"


def last_body(ticket) -> str:
    return Message.objects.filter(
        group__ticket=ticket, type__in=[MessageType.MESSAGE, MessageType.NOTE]
    ).latest("pk").body


def assert_rich_but_inert(body: str) -> None:
    assert "<strong>there</strong>" in body and "<em>friend</em>" in body
    assert "<ul><li>first</li><li>second</li></ul>" in body and "<ol><li>one</li></ol>" in body
    assert '<a href="https://example.com/help" rel="noopener noreferrer">help page</a>' in body
    lowered = body.lower()
    for bad in ("<script", "alert(\"boom\")", "onclick", "onerror", "javascript:"):
        assert bad not in lowered, bad
    assert "bad link" in body  # the text stays, the URL goes


def test_rich_reply_keeps_formatting_and_drops_scripts(ticket, owner):
    client = host_client(owner.account, owner)
    response = client.post(reply_url(ticket), {"body": "plain fallback", "body_html": RICH},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="ticket-pane")
    assert response.status_code == 200
    body = last_body(ticket)
    assert_rich_but_inert(body)
    assert "plain fallback" not in body  # the editor's HTML wins over the textarea
    message = Message.objects.filter(body=body).get()
    assert "- first" in message.text and "help page (https://example.com/help)" in message.text

    page = client.get(f"/tickets/{ticket.public_id}/").content.decode()
    conversation = page[page.index('id="ticket-conversation"'):]
    assert "<strong>there</strong>" in conversation
    assert '<a href="https://example.com/help" rel="noopener noreferrer">' in conversation
    assert "alert(" not in conversation and "javascript:" not in conversation.lower()
    # The composer offers the editor (hidden until the script shows it) and keeps the
    # textarea for browsers without JavaScript.
    assert 'contenteditable="true"' in page and 'name="body"' in page
    assert 'name="body_html"' in page and 'role="toolbar"' in page


def test_rich_internal_note_is_sanitised_too(ticket, owner):
    client = host_client(owner.account, owner)
    client.post(reply_url(ticket), {"body_html": RICH, "note": "on"})
    assert_rich_but_inert(last_body(ticket))


def test_plain_textarea_still_works_without_javascript(ticket, owner):
    client = host_client(owner.account, owner)
    response = client.post(reply_url(ticket), {"body": "<b>not bold</b>\nnext line",
                                               "body_html": ""})
    assert response.status_code == 302
    body = last_body(ticket)
    assert "&lt;b&gt;not bold&lt;/b&gt;<br>next line" in body


def test_empty_editor_html_is_an_empty_reply(ticket, owner):
    client = host_client(owner.account, owner)
    before = Message.objects.count()
    response = client.post(reply_url(ticket), {"body_html": "<p><br></p><script>x</script>"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "The message cannot be empty." in response.content.decode()
    assert Message.objects.count() == before


def test_refused_reply_shows_the_sanitised_html_again(ticket, owner):
    """The form shown again after an error carries only what the sanitiser allows."""
    form = ReplyForm({"body_html": '<b>kept</b><img src=x onerror="alert(1)">'})
    assert form.is_valid()
    assert form.cleaned_data["body_html"] == '<b>kept</b><img src="x">'
    assert "onerror" not in str(form["body_html"])


# --- predefined answers ----------------------------------------------------------------------


@pytest.fixture
def answers(scoped, owner, agent, ticket):
    """A shared HTML answer, a text answer of ``agent``, one of ``owner`` (not the agent's),
    and one for a department the ticket is not in."""
    other = actions.save_department(scoped, name="Elsewhere")
    return {
        "shared": actions.save_predefined_answer(
            scoped, name="Greeting", format="H",
            subject="{$ticket_code}:\n{$ticket_subject} for {$contact_name}",
            body="<p>Hello <b>{$contact_name}</b>, ticket {$ticket_code}.</p>"
                 "<script>alert(1)</script>"),
        "agent_text": actions.save_predefined_answer(
            scoped, name="Mine", user=agent, body="Regards,\n{$agent_name} <{$agent_email}>"),
        "owners": actions.save_predefined_answer(
            scoped, name="Owner only", user=owner, body="Private"),
        "elsewhere": actions.save_predefined_answer(
            scoped, name="Other department", department=other, body="Not here"),
    }


def answer_url(ticket, answer) -> str:
    return f"/tickets/{ticket.public_id}/answers/{answer.public_id}/"


def test_predefined_answer_is_expanded_and_sanitised(ticket, agent, answers):
    actions.assign_ticket(ticket, agent)
    client = host_client(agent.account, agent)
    response = client.get(answer_url(ticket, answers["shared"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    # The subject is plain text on one line (a mail header); the body sanitised HTML.
    assert response.json() == {
        "subject": f"{ticket.code}: Printer on fire for Cleo Customer",
        "html": f"<p>Hello <b>Cleo Customer</b>, ticket {ticket.code}.</p>",
    }

    text = client.get(answer_url(ticket, answers["agent_text"])).json()
    # A text answer becomes HTML; the values are escaped for it. No subject: none to set.
    assert text == {"subject": "",
                    "html": "<p>Regards,<br>Agent &lt;agent@acme.test&gt;</p>"}

    page = client.get(f"/tickets/{ticket.public_id}/").content.decode()
    assert "Greeting" in page and "Mine" in page
    assert "Owner only" not in page and "Other department" not in page


def test_predefined_answer_values_are_escaped(ticket, owner, answers):
    with scope(account=ticket.account):
        contact_actions.update_contact(ticket.owner, firstname="<img src=x onerror=alert(1)>")
    client = host_client(owner.account, owner)
    answer = client.get(answer_url(ticket, answers["shared"])).json()
    assert "<img" not in answer["html"] and "&lt;img" in answer["html"]
    # The subject is text the page sets as an input's value: kept as typed, not HTML.
    assert answer["subject"].endswith("for <img src=x onerror=alert(1)> Customer")


def test_predefined_answer_not_available_is_404(ticket, agent, answers, scoped):
    actions.assign_ticket(ticket, agent)
    client = host_client(agent.account, agent)
    assert client.get(answer_url(ticket, answers["owners"])).status_code == 404
    assert client.get(answer_url(ticket, answers["elsewhere"])).status_code == 404
    assert client.post(answer_url(ticket, answers["shared"])).status_code == 405
    # A ticket the agent cannot see: 404 even for a shared answer.
    hidden = actions.open_ticket(scoped, "Not yours", "Hi", ticket.owner,
                                 department=actions.save_department(scoped, name="Closed"))
    assert client.get(answer_url(hidden, answers["shared"])).status_code == 404


def test_predefined_answer_of_another_tenant_is_404(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    with scope(account=a):
        contact = contact_actions.create_contact(a, firstname="Ann")
        ticket_a = actions.open_ticket(a, "Alpha ticket", "Hi", contact)
        answer_a = actions.save_predefined_answer(a, name="Alpha answer", body="Alpha text")
    with scope(account=b):
        contact = contact_actions.create_contact(b, firstname="Bob")
        ticket_b = actions.open_ticket(b, "Beta ticket", "Hi", contact)
        answer_b = actions.save_predefined_answer(b, name="Beta answer", body="Beta text")
    client = two_tenants.client_b()
    assert client.get(answer_url(ticket_b, answer_b)).status_code == 200
    for ticket, answer in [(ticket_b, answer_a), (ticket_a, answer_b), (ticket_a, answer_a)]:
        response = client.get(answer_url(ticket, answer))
        assert response.status_code == 404
        assert "Alpha" not in response.content.decode()


# --- the reply's subject ---------------------------------------------------------------------


def titles(ticket) -> list[str]:
    return list(Message.objects.filter(group__ticket=ticket, type=MessageType.TITLE)
                .values_list("body", flat=True))


def test_reply_with_its_own_subject_keeps_it_for_the_mail(ticket, owner):
    client = host_client(owner.account, owner)
    page = client.get(f"/tickets/{ticket.public_id}/").content.decode()
    assert 'name="subject"' in page and 'placeholder="Re: Printer on fire"' in page

    client.post(reply_url(ticket), {"body": "Fixed.", "subject": "  Your printer,\r\nfixed "})
    assert titles(ticket) == ["Your printer, fixed"]
    group = ticket.groups.latest("pk")
    assert queries.reply_subject(group) == "Your printer, fixed"
    # A header of the mail, not a line of the conversation.
    page = client.get(f"/tickets/{ticket.public_id}/?part=live").content.decode()
    assert "Fixed." in page and "Your printer, fixed" not in page


def test_default_or_empty_subject_adds_nothing(ticket, owner):
    client = host_client(owner.account, owner)
    client.post(reply_url(ticket), {"body": "One", "subject": ""})
    client.post(reply_url(ticket), {"body": "Two", "subject": "Re: Printer on fire"})
    assert titles(ticket) == []
    assert queries.reply_subject(ticket.groups.latest("pk")) == "Re: Printer on fire"
    ticket.subject = "RE: already a reply"
    assert queries.default_reply_subject(ticket) == "RE: already a reply"


def test_a_note_has_no_subject(ticket, owner):
    client = host_client(owner.account, owner)
    client.post(reply_url(ticket), {"body": "Between us", "note": "on", "subject": "Ignored"})
    assert titles(ticket) == []
    assert last_body(ticket) == "<p>Between us</p>"


def test_too_long_subject_is_refused(ticket, owner):
    client = host_client(owner.account, owner)
    before = Message.objects.count()
    response = client.post(reply_url(ticket), {"body": "Hi", "subject": "x" * 501},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "at most 500 characters" in response.content.decode()
    assert Message.objects.count() == before
