"""Live chat in real browsers: a shop's page on another origin, with a strict
Content-Security-Policy, embeds the chat button; a visitor chats with agents on the chat
screen, reloads mid-chat, is transferred, rates the chat; the chat is a ticket with the
transcript. And the offline form when nobody is online; an agent with two chats at once, who
invites a colleague into one."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django_scopes import scope
from playwright.sync_api import expect

from saruna.chat.forms import default_fields
from saruna.chat.models import Chat, ChatStatus
from saruna.tickets.models import ChannelType, Ticket
from saruna.visitors.actions import save_tracking_settings
from saruna.visitors.identity import identity_signature, widget_secret
from tests.chat.helpers import make_button
from tests.e2e.conftest import screenshot
from tests.e2e.test_inbox import LAPTOP, log_in
from tests.factories import make_account, make_user
from tests.servers import free_port

PHONE = {"viewport": {"width": 390, "height": 760}, "is_mobile": True, "has_touch": True}


class ShopSite:
    """The customer's web site: a page with the embed snippet and its own script, served
    with a policy that allows scripts, connections and frames only from itself and Saruna."""

    def __init__(self, saruna_origin: str, snippet: str, own_script: str) -> None:
        policy = (f"default-src 'none'; script-src 'self' {saruna_origin}; "
                  f"connect-src {saruna_origin}; frame-src {saruna_origin}; "
                  f"img-src {saruna_origin}; style-src 'self'")
        page = ("<!doctype html><html><head><title>Shop</title>"
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<script src="/shop.js"></script></head>'
                "<body><h1>Our shop</h1><p>Everything for the garden.</p>"
                f"{snippet}</body></html>")
        files = {"/": ("text/html", page), "/shop.js": ("text/javascript", own_script)}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                kind, body = files.get(self.path.split("?")[0], ("text/plain", "not found"))
                self.send_response(200 if self.path.split("?")[0] in files else 404)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Security-Policy", policy)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/"

    def close(self):
        self.server.shutdown()


def shop_for(asgi_server, button, own_script=""):
    origin = asgi_server.url("acme", "").rstrip("/")
    snippet = (f'<script async src="{origin}/widget/loader.js" '
               f'data-saruna-button="{button.public_id}"></script>')
    stub = ("window.dataLayer = [];\n"
            "window.saruna = window.saruna || function () {"
            " (saruna.q = saruna.q || []).push(arguments); };\n")
    return ShopSite(origin, snippet, stub + own_script)


def watch_policy(page):
    """Collects what the browser blocked because of a Content-Security-Policy."""
    blocked = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    return blocked


def open_desk(page, server, user):
    """The agent opens the chat screen and goes online there."""
    log_in(page, server, user.email)
    page.get_by_role("link", name="Chat", exact=True).click()
    page.wait_for_function("window.sarunaChat && window.sarunaChat.welcome")
    page.get_by_label("Chat status").select_option("online")
    page.locator("#status-form[data-saved=online]").wait_for()


@pytest.fixture
def shop_account():
    account = make_account("acme")
    # SQLite's shared in-memory test database refuses a second writer at once ("table is
    # locked") instead of waiting, and the tracking module's beats write beside the chat's
    # requests: the loader loads it in the PostgreSQL run only (tracking has its own tests).
    with scope(account=account):
        save_tracking_settings(account, {"enabled": connection.vendor == "postgresql"})
    anna = make_user(account, "anna@acme.test", full_name="Anna Bērziņa")
    ben = make_user(account, "ben@acme.test", full_name="Ben Ozols")
    return account, anna, ben


def test_a_visitor_chats_with_agents_from_another_site(asgi_server, new_page, shop_account):
    account, anna, ben = shop_account
    prechat = [field for field in default_fields(message_required=False)
               if field["name"] != "email"]
    button = make_button(account, prechat_fields=prechat,
                         texts={"en": {"title": "Ask the gardeners"}})
    with scope(account=account):
        button.department.agents.add(anna, ben)
        secret = widget_secret(account).identity_secret
    signature = identity_signature(secret, "c-42", "vera@example.com", "Vera Liepa")
    shop = shop_for(asgi_server, button, (
        "saruna('identify', {user_id: 'c-42', email: 'vera@example.com', name: 'Vera Liepa',"
        f" signature: '{signature}'}});\n"))

    first, second = new_page(**LAPTOP), new_page(**LAPTOP)
    open_desk(first, asgi_server, anna)
    open_desk(second, asgi_server, ben)
    second.get_by_role("link", name="Home").click()  # Ben works elsewhere; his tab still rings
    first.get_by_text("No chats waiting for you.").wait_for()

    visitor = new_page(**PHONE)
    blocked = watch_policy(visitor)
    visitor.goto(shop.url)
    visitor.get_by_role("button", name="Ask the gardeners").click()
    chat = visitor.frame_locator("iframe[title='Ask the gardeners']")
    chat.get_by_label("Your name").fill("Vera")
    chat.get_by_label("Your question").fill("Do you have apple trees?")
    chat.get_by_role("button", name="Start the chat").click()
    chat.get_by_text("Do you have apple trees?").wait_for()
    assert visitor.evaluate("window.dataLayer.map(entry => entry.event)") == [
        "saruna_chat_started"]

    # Both agents ring; Anna accepts, and Ben's ring stops.
    first.locator("#rings").get_by_text("Vera Liepa").wait_for()
    notice = second.locator("#chat-ring-notice")
    notice.get_by_text("Vera Liepa").wait_for()
    assert "Incoming chat" in second.title()
    first.locator("#rings").get_by_role("button", name="Accept").click()
    pane = first.locator(".chat-pane")
    pane.get_by_role("log").get_by_text("Do you have apple trees?").wait_for()
    notice.wait_for(state="hidden")
    chat.get_by_text("You are chatting with Anna Bērziņa.").wait_for()

    pane.get_by_label("Message").fill("Yes, five kinds.")
    pane.get_by_label("Message").press("Enter")
    chat.get_by_text("Yes, five kinds.").wait_for()
    chat.get_by_role("textbox", name="Message", exact=True).fill("Great, which is sweetest?")
    chat.get_by_role("button", name="Send", exact=True).click()
    pane.get_by_role("log").get_by_text("Great, which is sweetest?").wait_for()
    # Anna has it on screen: the visitor sees it read.
    chat.locator("li.visitor[data-read]").last.wait_for()
    screenshot(visitor, "chat-widget-phone")
    screenshot(first, "chat-agent")

    # A reload in the middle of the chat: the panel opens again with the whole conversation.
    visitor.reload()
    chat = visitor.frame_locator("iframe[title='Ask the gardeners']")
    for line in ("Do you have apple trees?", "Yes, five kinds.", "Great, which is sweetest?"):
        chat.get_by_text(line).wait_for()
    assert chat.locator("li.msg").count() >= 3

    # Anna transfers the chat to Ben, who accepts and answers.
    pane.get_by_text("Transfer or invite").click()
    pane.get_by_label("Transfer to").select_option(label="Ben Ozols")
    pane.get_by_role("button", name="Transfer", exact=True).click()
    notice.get_by_text("Transferred to you").wait_for()
    notice.get_by_role("button", name="Accept").click()  # and on to the chat screen
    first.get_by_text("The chat was transferred.").wait_for()
    ben_pane = second.locator(".chat-pane")
    ben_pane.get_by_role("log").get_by_text("Great, which is sweetest?").wait_for()
    ben_pane.get_by_label("Message").fill("Ben here: try the Antonovka.")
    ben_pane.get_by_role("button", name="Send", exact=True).click()
    chat.get_by_text("Ben here: try the Antonovka.").wait_for()

    # The visitor ends the chat and rates it.
    chat.get_by_role("button", name="End the chat").click()
    chat.get_by_role("button", name="Good").click()
    chat.get_by_label("Comment (optional)").fill("Quick and friendly")
    chat.get_by_role("button", name="Send the rating").click()
    chat.get_by_text("Thank you for your rating.").wait_for()
    chat.get_by_label("E-mail me the transcript").fill("vera@example.com")
    chat.get_by_role("button", name="Send the transcript").click()
    chat.get_by_text("The transcript is on its way to vera@example.com.").wait_for()
    ben_pane.get_by_text("The chat has ended.").wait_for()
    assert blocked == []
    # The page was reloaded since the chat started.
    assert visitor.evaluate("window.dataLayer.map(entry => entry.event)") == [
        "saruna_chat_ended"]

    with scope(account=account):
        finished = Chat.objects.select_related("ticket__owner").get()
        ticket = finished.ticket
        transcript = "\n".join(m.text for group in ticket.groups.all()
                               for m in group.messages.all())
        owner_emails = list(ticket.owner.emails.values_list("email", flat=True))
    assert finished.status == ChatStatus.ENDED
    assert (finished.agent, finished.rating) == (ben, "good")
    assert ticket.channel_type == ChannelType.CHAT_BUTTON
    assert "vera@example.com" in owner_emails  # the signed identity joined the contact
    for line in ("Do you have apple trees?", "Yes, five kinds.", "Ben here: try the Antonovka."):
        assert line in transcript
    shop.close()


def test_nobody_online_offers_the_offline_form(asgi_server, new_page, shop_account):
    account = shop_account[0]
    button = make_button(account, texts={"en": {"title": "Ask the gardeners"}},
                         offline_fields=default_fields(message_required=True))
    with scope(account=account):  # the conversion is for this test's listener, not track.js
        save_tracking_settings(account, {"enabled": False})
    # Commands the page queues before the loader arrives run when it does, in order.
    shop = shop_for(asgi_server, button, (
        "saruna('consent', {tracking: true});\n"
        "saruna('conversion', {id: 'order-7', value: 12.5, currency: 'EUR'});\n"
        "saruna('open');\n"))
    visitor = new_page(**LAPTOP)
    blocked = watch_policy(visitor)
    visitor.goto(shop.url)
    chat = visitor.frame_locator("iframe[title='Ask the gardeners']")
    chat.get_by_text("Leave us a message").wait_for()
    # The conversion waits for the tracking module's listener; consent is remembered.
    assert visitor.evaluate("new Promise(done => saruna._on('command:conversion', done))") == {
        "id": "order-7", "value": 12.5, "currency": "EUR"}
    assert visitor.evaluate("saruna._ctx.consent") == {"tracking": True}
    chat.get_by_label("Your e-mail address").fill("not an address")
    chat.get_by_label("Your question").fill("Do you deliver to Cēsis?")
    chat.get_by_role("button", name="Send").click()
    chat.get_by_text("is not an e-mail address").wait_for()
    screenshot(visitor, "chat-widget-offline")
    chat.get_by_label("Your e-mail address").fill("vera@example.com")
    chat.get_by_role("button", name="Send").click()
    chat.get_by_text("We have received your message").wait_for()
    # Escape closes the panel and gives the focus back to the button.
    chat.get_by_text("We have received your message").press("Escape")
    # The frame tells the page by message, which arrives a moment later.
    opener = visitor.get_by_role("button", name="Ask the gardeners")
    expect(opener).to_have_attribute("aria-expanded", "false")
    expect(opener).to_be_focused()
    assert blocked == []
    with scope(account=account):
        ticket = Ticket.objects.get()
        body = ticket.groups.first().messages.first().text
    assert "Do you deliver to Cēsis?" in body
    shop.close()


# Something between the visitor and us refuses WebSockets: every socket fails at once.
BLOCK_WEBSOCKETS = """
window.WebSocket = class extends EventTarget {
  constructor() {
    super();
    this.readyState = 3;
    setTimeout(() => {
      this.dispatchEvent(new Event("error"));
      this.dispatchEvent(new CloseEvent("close", {code: 1006}));
    }, 10);
  }
  send() {}
  close() {}
};
window.WebSocket.OPEN = 1;
"""


def test_an_invitation_and_a_chat_over_long_polling(asgi_server, new_page, shop_account,
                                                    settings, tmp_path):
    settings.SARUNA_MAX_ATTACHMENT_BYTES = 2000
    account, anna, _ben = shop_account
    button = make_button(account, texts={"en": {"title": "Ask the gardeners"}})
    with scope(account=account):
        button.department.agents.add(anna)
    shop = shop_for(asgi_server, button)
    desk = new_page(**LAPTOP)
    open_desk(desk, asgi_server, anna)

    visitor = new_page(**LAPTOP)
    visitor.add_init_script(BLOCK_WEBSOCKETS)  # in the chat's frame too
    polls = []
    visitor.on("request", lambda request: polls.append(request.url) if "/poll/" in request.url
               else None)
    visitor.goto(shop.url)
    opener = visitor.get_by_role("button", name="Ask the gardeners")
    opener.wait_for()
    # What the tracking module does when an agent invites the visitor.
    visitor.evaluate("saruna._emit('invitation', {id: 'inv-1', agent_name: 'Anna',"
                     " text: 'Need help choosing seeds?'})")
    visitor.get_by_text("Need help choosing seeds?").wait_for()
    reply = visitor.locator("[data-saruna] .bubble .reply")
    reply.focus()
    visitor.keyboard.press("Enter")
    chat = visitor.frame_locator("iframe[title='Ask the gardeners']")
    message = chat.get_by_role("textbox", name="Message", exact=True)
    expect(message).to_be_focused()
    assert visitor.evaluate("window.dataLayer.map(entry => entry.event)") == [
        "saruna_invitation_shown", "saruna_invitation_accepted"]
    visitor.keyboard.type("I need tomato seeds.")
    visitor.keyboard.press("Enter")

    desk.locator("#rings").get_by_role("button", name="Accept").click()
    pane = desk.locator(".chat-pane")
    pane.get_by_role("log").get_by_text("I need tomato seeds.").wait_for()
    pane.get_by_label("Message").fill("We have six kinds.")
    pane.get_by_label("Message").press("Enter")
    chat.get_by_text("We have six kinds.").wait_for()
    message.fill("The cherry ones, please.")
    message.press("Enter")
    pane.get_by_role("log").get_by_text("The cherry ones, please.").wait_for()
    chat.locator("li.visitor:not(.pending)").get_by_text("The cherry ones, please.").wait_for()
    assert polls, "the chat did not fall back to long-polling"

    # Files: one too large is refused before it is sent; a small one reaches the agent.
    big, small = tmp_path / "catalogue.pdf", tmp_path / "list.txt"
    big.write_bytes(b"%PDF" + b"0" * 3000)
    small.write_text("cherry tomatoes x 2")
    chat.locator("#file").set_input_files(big)
    chat.get_by_role("alert").get_by_text("catalogue.pdf is too large").wait_for()
    chat.locator("#file").set_input_files(small)
    pane.get_by_role("link", name="list.txt").wait_for()
    screenshot(visitor, "chat-widget")

    # Escape closes the panel and the focus goes back to the button.
    message.press("Escape")
    expect(opener).to_be_focused()
    assert opener.get_attribute("aria-expanded") == "false"
    shop.close()


def test_two_chats_side_by_side_and_a_colleague_invited(asgi_server, new_page, shop_account):
    account, anna, ben = shop_account
    button = make_button(account, texts={"en": {"title": "Ask the gardeners"}})
    with scope(account=account):
        button.department.agents.add(anna, ben)
    shop = shop_for(asgi_server, button)
    desk = new_page(**LAPTOP)
    open_desk(desk, asgi_server, anna)
    colleague = new_page(**LAPTOP)  # Ben has the chat screen open but takes no new chats
    log_in(colleague, asgi_server, ben.email)
    colleague.get_by_role("link", name="Chat", exact=True).click()
    colleague.wait_for_function("window.sarunaChat && window.sarunaChat.welcome")

    def visitor_asks(question):
        visitor = new_page(**LAPTOP)
        visitor.goto(shop.url)
        visitor.get_by_role("button", name="Ask the gardeners").click()
        chat = visitor.frame_locator("iframe[title='Ask the gardeners']")
        chat.get_by_role("textbox", name="Message", exact=True).fill(question)
        chat.get_by_role("button", name="Send", exact=True).click()
        desk.locator("#rings .ring").get_by_role("button", name="Accept").click()
        pane = desk.locator(".chat-pane", has_text=question)
        pane.get_by_role("log").get_by_text(question).wait_for()
        return chat, pane

    roses, roses_pane = visitor_asks("Do you sell roses?")
    _tulips, tulips_pane = visitor_asks("Do you sell tulips?")  # Anna types here now
    expect(tulips_pane.get_by_label("Message")).to_be_focused()

    # A message in the other chat: a badge on its pane, and not read until Anna opens it.
    roses.get_by_role("textbox", name="Message", exact=True).fill("Red ones, please.")
    roses.get_by_role("button", name="Send", exact=True).click()
    roses_pane.get_by_role("log").get_by_text("Red ones, please.").wait_for()
    expect(roses_pane.locator(".unread")).to_have_text("1 unread")
    expect(tulips_pane.locator(".unread")).to_be_hidden()
    red = roses.locator("li.visitor", has_text="Red ones, please.")
    assert red.get_attribute("data-read") is None
    roses_pane.get_by_role("log").click()
    expect(roses_pane.locator(".unread")).to_be_hidden()
    expect(red).to_have_attribute("data-read", "1")

    # Anna invites Ben to join the roses chat: he sees the whole conversation and answers.
    roses_pane.get_by_text("Transfer or invite").click()
    roses_pane.get_by_label("Invite an agent to join").select_option(label="Ben Ozols")
    roses_pane.get_by_role("button", name="Invite", exact=True).click()
    ring = colleague.locator("#rings .ring", has_text="Invitation to join")
    ring.get_by_role("button", name="Accept").click()
    ben_pane = colleague.locator(".chat-pane")
    for line in ("Do you sell roses?", "Red ones, please."):
        ben_pane.get_by_role("log").get_by_text(line).wait_for()
    expect(roses_pane.locator(".participants")).to_contain_text("Ben Ozols")
    ben_pane.get_by_label("Message").fill("Ben here: the red 'Kordes' rose.")
    ben_pane.get_by_label("Message").press("Enter")
    roses.get_by_text("Ben here: the red 'Kordes' rose.").wait_for()
    roses_pane.get_by_role("log").get_by_text("Ben here: the red 'Kordes' rose.").wait_for()
    with scope(account=account):
        chat = Chat.objects.get(messages__body="Red ones, please.")
        assert chat.agent == anna
        assert list(chat.participants.values_list("user", flat=True)) == [ben.pk]
    shop.close()
