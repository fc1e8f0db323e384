"""The widget's JSON endpoints (docs/widget.md) as a visitor's browser uses them: the
configuration, starting a chat, the offline path, files, rating, transcript, and that a
token or chat of one account is worthless on another."""

import json

import pytest
from django.core import mail
from django_scopes import scope

from saruna.chat import actions
from saruna.chat.models import Chat, ChatMessage, ChatStatus
from saruna.contacts.models import Contact
from saruna.tickets.models import ChannelType, GroupType, Status, Ticket
from saruna.visitors.identity import identity_signature, issue_visitor_token, widget_secret
from saruna.visitors.models import Visitor
from tests.chat.helpers import make_button, put_online, reload
from tests.factories import make_account, make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


class Browser:
    """A visitor's browser on the account's site: its token travels in the header."""

    def __init__(self, account, token=None):
        self.account = account
        self.token = issue_visitor_token(account) if token is None else token
        self.client = host_client(account)

    def get(self, path, **params):
        return self.client.get(path, params, HTTP_X_SARUNA_VISITOR=self.token)

    def post(self, path, body=None):
        return self.client.post(path, json.dumps(body or {}), content_type="application/json",
                                HTTP_X_SARUNA_VISITOR=self.token)

    def start(self, button, **body):
        body.setdefault("message", "Hello")
        body.setdefault("client_id", "c-first")
        return self.post(f"/widget/{button.public_id}/chats/", body)


@pytest.fixture
def button(account, agent):
    put_online(agent)
    return make_button(
        account, prechat_fields=[
            {"name": "name", "label": "Your name", "type": "text", "required": True},
            {"name": "email", "label": "E-mail", "type": "email"},
        ],
        texts={"lv": {"title": "Tērzēt ar mums"}},
    )


def test_config_gives_a_fresh_token_once_and_speaks_the_visitors_language(account, button):
    browser = Browser(account, token="")
    answer = browser.get(f"/widget/{button.public_id}/config.json", lang="lv-LV")
    data = answer.json()
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    assert data["online"] is True and data["language"] == "lv"
    assert data["button"]["texts"]["title"] == "Tērzēt ar mums"
    assert data["languages"] == ["en", "lv"]
    assert [f["name"] for f in data["prechat_fields"]] == ["name", "email"]
    assert "enabled" in data["tracking"]
    token = data["token"]
    again = Browser(account, token).get(f"/widget/{button.public_id}/config.json", lang="de")
    assert "token" not in again.json() and again.json()["language"] == "en"


def test_config_answers_host_pages_on_other_origins(account, button):
    """The loader reads config.json from the customer's own site, another origin: without
    these headers the browser hides the answer and no button ever shows."""
    browser = Browser(account)
    path = f"/widget/{button.public_id}/config.json"
    preflight = browser.client.options(path, HTTP_ORIGIN="https://shop.example",
                                       HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-saruna-visitor")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "X-Saruna-Visitor" in preflight["Access-Control-Allow-Headers"]
    answer = browser.get(path)
    assert answer.status_code == 200 and answer["Access-Control-Allow-Origin"] == "*"
    texts = answer.json()["button"]["texts"]
    assert (texts["reply"], texts["dismiss"]) == ("Reply", "Dismiss")  # the invitation bubble


def test_a_chat_starts_queued_for_the_agent_and_the_prechat_form_is_checked(account, button):
    browser = Browser(account)
    refused = browser.start(button, fields={"email": "vera@example.com"})
    assert refused.status_code == 400 and "Your name" in refused.json()["message"]
    bad = browser.start(button, fields={"name": "Vera", "email": "not an address"})
    assert bad.status_code == 400

    answer = browser.start(button, fields={"name": "Vera Visitor", "email": "vera@example.com"})
    assert answer.status_code == 201
    data = answer.json()
    assert data["status"] == "ringing" and data["queue_position"] == 1
    assert data["estimated_wait"] > 0 and data["last_seq"] == 1
    # Reloading the page and starting again answers the same chat.
    again = browser.start(button, fields={"name": "Vera Visitor"}, client_id="c-other")
    assert again.status_code == 200 and again.json()["chat"] == data["chat"]

    with scope(account=account):
        chat = Chat.objects.get(public_id=data["chat"])
        assert chat.ticket.channel_type == ChannelType.CHAT_BUTTON
        assert chat.ticket.status == Status.CHATTING
        contact = Contact.objects.get(emails__email="vera@example.com")
        assert chat.ticket.owner == contact and chat.visitor.contact == contact
        assert "Your name: Vera Visitor" in chat.ticket.groups.get(
            type=GroupType.STARTINFO).messages.get().body


def test_a_signed_identity_joins_the_customers_contact(account, button):
    with scope(account=account):
        secret = widget_secret(account).identity_secret
        known = Contact.objects.create(account=account, firstname="Kim",
                                       system_name="Kim Customer")
        known.emails.create(account=account, email="kim@example.com")
    identity = {"user_id": "42", "email": "kim@example.com", "name": "Kim Customer"}
    forged = Browser(account).start(button, fields={"name": "Kim"},
                                    identity={**identity, "signature": "0" * 64})
    assert forged.status_code == 201
    browser = Browser(account)
    signed = browser.start(button, fields={"name": "Kim"}, identity={
        **identity, "signature": identity_signature(secret, "42", "kim@example.com",
                                                    "Kim Customer")})
    with scope(account=account):
        assert Chat.objects.get(public_id=signed.json()["chat"]).ticket.owner == known
        assert Chat.objects.get(public_id=forged.json()["chat"]).ticket.owner != known
        visitor = Visitor.objects.get(chats__public_id=signed.json()["chat"])
        assert visitor.external_user_id == "42" and visitor.contact == known


def test_messages_are_deduplicated_and_caught_up_by_seq(account, button):
    browser = Browser(account)
    chat = browser.start(button, fields={"name": "Vera"}).json()["chat"]
    first = browser.post(f"/widget/chats/{chat}/messages/", {"client_id": "m1", "body": "One"})
    repeat = browser.post(f"/widget/chats/{chat}/messages/", {"client_id": "m1", "body": "One"})
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert first.json() == repeat.json() and first.json()["seq"] == 2
    empty = browser.post(f"/widget/chats/{chat}/messages/", {"client_id": "m2", "body": "  "})
    assert empty.status_code == 400
    caught = browser.get(f"/widget/chats/{chat}/messages/", after_seq=1).json()
    assert [(m["seq"], m["body"]) for m in caught["messages"]] == [(2, "One")]
    assert caught["state"]["status"] == "ringing"
    # A client ahead of the chat (even past what a database counts to) has nothing to catch.
    ahead = browser.get(f"/widget/chats/{chat}/messages/", after_seq=10**30)
    assert ahead.status_code == 200 and ahead.json()["messages"] == []
    with scope(account=account):
        assert ChatMessage.objects.filter(chat__public_id=chat).count() == 2


def test_nobody_online_is_a_409_with_offline_and_the_offline_form_makes_a_ticket(
    account, button, agent
):
    with scope(account=account):
        actions.set_agent_status(agent, "offline")
    browser = Browser(account)
    config = browser.get(f"/widget/{button.public_id}/config.json").json()
    assert config["online"] is False
    refused = browser.start(button, fields={"name": "Vera"})
    assert refused.status_code == 409 and refused.json()["offline"] is True

    missing = browser.post(f"/widget/{button.public_id}/offline/",
                           {"fields": {"name": "Vera", "message": "Call me"}})
    assert missing.status_code == 400  # no e-mail to answer to
    sent = browser.post(f"/widget/{button.public_id}/offline/", {"fields": {
        "name": "Vera", "email": "vera@example.com", "message": "Please call me back"}})
    assert sent.status_code == 201
    with scope(account=account):
        ticket = Ticket.objects.get(code=sent.json()["ticket"])
        assert ticket.status == Status.NEW and ticket.owner.primary_email == "vera@example.com"
        assert "Please call me back" in ticket.groups.get().messages.get().body


def test_an_unanswered_chats_offline_form_joins_its_ticket(account, button, agent):
    browser = Browser(account)
    chat_id = browser.start(button, fields={"name": "Vera"}).json()["chat"]
    with scope(account=account):
        chat = Chat.objects.get(public_id=chat_id)
        actions.end_chat(chat, by="timeout")
    state = browser.get(f"/widget/chats/{chat_id}/messages/").json()["state"]
    assert state["status"] == "ended" and state["offline"] is True
    sent = browser.post(f"/widget/{button.public_id}/offline/", {"fields": {
        "email": "vera@example.com", "message": "Nobody answered, so here it is"}})
    assert sent.status_code == 201
    chat = reload(chat)
    assert sent.json()["ticket"] == chat.ticket.code
    with scope(account=account):
        assert chat.ticket.groups.filter(type=GroupType.OFFLINE).exists()


def test_files_are_checked_stored_and_served_by_their_signed_link(account, button, settings):
    browser = Browser(account)
    chat = browser.start(button, fields={"name": "Vera"}).json()["chat"]
    upload = browser.client.post(f"/widget/chats/{chat}/files/",
                                 {"file": _file("photo.png", PNG)},
                                 HTTP_X_SARUNA_VISITOR=browser.token)
    assert upload.status_code == 201
    stored = upload.json()["files"][0]
    assert stored["name"] == "photo.png" and stored["size"] == len(PNG)
    download = host_client(None).get(stored["url"], HTTP_HOST=account.host)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    forged = stored["url"].rstrip("/").rsplit("/", 1)[0] + "/" + "0" * 32 + "/"
    assert host_client(account).get(forged).status_code == 404

    script = browser.client.post(f"/widget/chats/{chat}/files/",
                                 {"file": _file("page.html", b"<html><script>x</script>")},
                                 HTTP_X_SARUNA_VISITOR=browser.token)
    assert script.status_code == 400
    settings.SARUNA_MAX_ATTACHMENT_BYTES = 10
    big = browser.client.post(f"/widget/chats/{chat}/files/", {"file": _file("b.png", PNG)},
                              HTTP_X_SARUNA_VISITOR=browser.token)
    assert big.status_code == 413
    with scope(account=account):
        assert ChatMessage.objects.filter(chat__public_id=chat, file__isnull=False).count() == 1


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_end_rating_and_transcript(account, button, agent, django_capture_on_commit_callbacks):
    browser = Browser(account)
    chat_id = browser.start(button, fields={"name": "Vera"}).json()["chat"]
    with scope(account=account):
        chat = Chat.objects.get(public_id=chat_id)
        actions.accept_ring(chat, agent)
        actions.post_agent_message(reload(chat), agent, "a1", "How can I help?")
    ended = browser.post(f"/widget/chats/{chat_id}/end/")
    assert ended.status_code == 200 and ended.json()["state"]["status"] == "ended"
    assert browser.post(f"/widget/chats/{chat_id}/rating/", {"rating": "meh"}).status_code == 400
    rated = browser.post(f"/widget/chats/{chat_id}/rating/",
                         {"rating": "good", "comment": "Quick and kind"})
    assert rated.status_code == 200
    chat = reload(chat)
    assert (chat.rating, chat.rating_comment) == ("good", "Quick and kind")
    assert chat.ticket.status == Status.ANSWERED  # the agent wrote: the transcript stays

    assert browser.post(f"/widget/chats/{chat_id}/transcript/",
                        {"email": "nope"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        sent = browser.post(f"/widget/chats/{chat_id}/transcript/", {"email": "vera@example.com"})
    assert sent.status_code == 200
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["vera@example.com"]
    assert "How can I help?" in mail.outbox[0].body and "Agent" in mail.outbox[0].body
    late = browser.post(f"/widget/chats/{chat_id}/messages/", {"client_id": "z", "body": "Hi"})
    assert late.status_code == 409 and reload(chat).status == ChatStatus.ENDED


def test_a_token_or_chat_of_one_account_is_worthless_on_another(db):
    alpha, beta = make_account("alpha"), make_account("beta")
    for account in (alpha, beta):
        put_online(make_user(account, f"agent@{account.slug}.test"))
    alpha_button, beta_button = make_button(alpha), make_button(beta)
    alpha_browser = Browser(alpha)
    chat = alpha_browser.start(alpha_button, fields={"name": "Vera"}).json()["chat"]

    # Alpha's token on beta's host: not a token there.
    on_beta = Browser(beta, token=alpha_browser.token)
    config = on_beta.get(f"/widget/{beta_button.public_id}/config.json").json()
    assert config["token"] != alpha_browser.token  # beta hands out its own
    assert on_beta.start(beta_button, fields={"name": "Vera"}).status_code == 403
    # Alpha's chat and button do not exist on beta's host, whatever the token.
    assert on_beta.get(f"/widget/chats/{chat}/messages/").status_code == 404
    assert on_beta.post(f"/widget/chats/{chat}/messages/",
                        {"client_id": "x", "body": "Hi"}).status_code == 404
    assert on_beta.get(f"/widget/{alpha_button.public_id}/config.json").status_code == 404
    # Another visitor of alpha gets nothing of this chat either.
    stranger = Browser(alpha)
    assert stranger.get(f"/widget/chats/{chat}/messages/").status_code == 404
    assert stranger.post(f"/widget/chats/{chat}/end/").status_code == 404
    with scope(account=alpha):
        assert Chat.objects.get(public_id=chat).status != ChatStatus.ENDED
        assert ChatMessage.objects.filter(chat__public_id=chat).count() == 1
