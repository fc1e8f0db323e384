"""Visitors in real browsers: a shop on another origin embeds the widget; a visitor from Riga
arrives from a newsletter and sees three pages; the agent's Online visitors screen shows them
on the list and the map with source, place and path; the agent invites them, the visitor
accepts and they chat; the conversion the shop reports afterwards is credited to the agent,
and every step reaches the page's dataLayer."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from saruna.chat.models import Chat
from saruna.tickets.models import ChannelType
from saruna.visitors.actions import save_tracking_settings
from saruna.visitors.identity import identity_signature, widget_secret
from saruna.visitors.models import Conversion, Invitation, PageVisit, Visitor, VisitSession
from saruna.visitors.queries import page_visits_for_contact
from tests.chat.helpers import make_button
from tests.e2e.conftest import screenshot
from tests.e2e.test_inbox import LAPTOP, log_in
from tests.factories import make_account, make_user
from tests.servers import free_port, settled

RIGA = "81.198.0.1"
RIGA_LAT_LON = (56.949, 24.106)  # the city centre (Wikipedia), not the geo database's answer
PAGES = {"/": "Garden shop", "/pricing": "Prices", "/contact": "Contact us"}


class Shop:
    """The customer's site: three pages, each with the embed snippet and a GA dataLayer; the
    customer has logged in by the last one, which names them to Saruna."""

    def __init__(self, saruna_origin: str, button_id: str, identify: str) -> None:
        def page(title: str) -> str:
            logged_in = identify if title == PAGES["/contact"] else ""
            return ("<!doctype html><html><head>"
                    f"<title>{title}</title>"
                    "<script>window.dataLayer = [];\n"
                    "window.saruna = window.saruna || function () {"
                    f" (saruna.q = saruna.q || []).push(arguments); }};\n{logged_in}</script>"
                    "</head>"
                    f"<body><h1>{title}</h1>"
                    f'<script async src="{saruna_origin}/widget/loader.js" '
                    f'data-saruna-button="{button_id}"></script></body></html>')

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                self.send_response(200 if path in PAGES else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page(PAGES.get(path, "Not found")).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def shop_setup(asgi_server, settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True  # the test's "proxy" names the visitor's IP
    account = make_account("acme")
    anna = make_user(account, "anna@acme.test", full_name="Anna Bērziņa")
    button = make_button(account)
    with scope(account=account):
        button.department.agents.add(anna)  # as every new agent joins the default department
        secret = widget_secret(account).identity_secret
    signature = identity_signature(secret, "c-42", "vera@example.com", "Vera Liepa")
    shop = Shop(asgi_server.url("acme", "").rstrip("/"), button.public_id, (
        "saruna('identify', {user_id: 'c-42', email: 'vera@example.com', name: 'Vera Liepa',"
        f" signature: '{signature}'}});"))
    yield account, anna, shop
    shop.server.shutdown()


def visitor_from_riga(page):
    """Every request to Saruna carries the address a trusted proxy would add."""
    def add_address(route):
        route.continue_(headers={**route.request.headers, "x-forwarded-for": RIGA})
    page.route("**/widget/track/", add_address)


def assert_on_the_map_at(world, dot, lat: float, lon: float) -> None:
    """The dot lies where the map's projection puts lat/lon: the whole world (viewBox 960 x
    480) in an equirectangular projection, longitude -180..180 left to right and latitude
    90..-90 top to bottom. Checked on screen and in the map's units, to within about a degree
    of longitude and half a degree of latitude."""
    x, y = (lon + 180) / 360, (90 - lat) / 180  # as fractions of the map's width and height
    expect(world).to_have_attribute("viewBox", "0 0 960 480")
    cx, cy = (float(dot.get_attribute(name) or "nan") for name in ("cx", "cy"))
    assert (cx, cy) == (pytest.approx(x * 960, abs=2), pytest.approx(y * 480, abs=2))
    box, disc = world.bounding_box(), dot.bounding_box()
    assert box and disc
    centre = ((disc["x"] + disc["width"] / 2 - box["x"]) / box["width"],
              (disc["y"] + disc["height"] / 2 - box["y"]) / box["height"])
    assert centre == (pytest.approx(x, abs=0.003), pytest.approx(y, abs=0.003))


def test_the_agent_sees_and_invites_a_visitor(asgi_server, new_page, shop_setup):
    account, anna, shop = shop_setup
    visitor = new_page(**LAPTOP)
    visitor_from_riga(visitor)
    visitor.goto(f"{shop.url}/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
                 referer="https://mail.example.org/inbox")
    visitor.wait_for_function("window.saruna && window.saruna._tracking")
    visitor.goto(f"{shop.url}/pricing")
    visitor.wait_for_function("window.saruna && window.saruna._tracking")
    with visitor.expect_response("**/widget/identify/") as identified:
        visitor.goto(f"{shop.url}/contact")  # logged in: the page names the customer
    assert identified.value.status == 204
    with scope(account=account):
        contact = settled(lambda: Visitor.objects.get().contact)
        assert settled(lambda: list(contact.emails.values_list("email", flat=True))) == [
            "vera@example.com"]
    # Nobody is online yet: the panel offers the offline form, and the visitor closes it.
    opener = visitor.get_by_role("button", name="Chat with us")
    opener.click()
    chat = visitor.frame_locator("iframe[title='Chat with us']")
    chat.get_by_text("Leave us a message").wait_for()
    opener.click()

    agent = new_page(**LAPTOP)
    log_in(agent, asgi_server, anna.email)
    agent.get_by_role("link", name="Visitors").click()
    row = agent.locator("#visitor-list tbody tr")
    row.locator(".v-pages", has_text="3").wait_for(timeout=15000)
    with scope(account=account):
        visitor_id = Visitor.objects.get().public_id
    # The map has one dot, for this visitor, titled with the place the list shows, on Riga.
    world = agent.locator("#visitor-map")
    dot = world.locator(".dot")
    expect(dot).to_have_count(1)
    expect(dot).to_have_attribute("data-visitors", visitor_id)
    expect(dot.locator("title")).to_have_text(re.compile(r"^Riga\b.*, LV$"))
    place = dot.locator("title").text_content()  # the database's wording, e.g. with a district
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-visitor", visitor_id)
    expect(row.locator(".v-place")).to_have_text(f"Vera Liepa · {place}")
    expect(row.locator(".v-source")).to_have_text("E-mail: newsletter")
    expect(row.locator(".v-page")).to_have_text("Contact us")
    world.locator(".land path").first.wait_for(state="attached")
    assert_on_the_map_at(world, dot, *RIGA_LAT_LON)
    # The dot opens this visitor, from the keyboard too: their place and path, selected on
    # list and map; the dot, drawn anew, keeps the focus.
    dot.focus()
    agent.keyboard.press("Enter")
    detail = agent.locator("#visitor-detail")
    expect(detail).to_be_visible()
    expect(detail).to_have_attribute("data-visitor", visitor_id)
    expect(detail.locator("#detail-title")).to_have_text("Vera Liepa")
    expect(detail.locator(".d-place")).to_have_text(place)
    expect(detail.locator(".path li a")).to_have_text(["Garden shop", "Prices", "Contact us"])
    expect(row).to_have_class(re.compile(r"\bselected\b"))
    expect(dot).to_have_class(re.compile(r"\bselected\b"))
    expect(dot).to_be_focused()
    screenshot(agent, "visitors-map")

    with scopes_disabled():
        session = settled(VisitSession.objects.get)
        assert (session.source_type, session.utm_campaign, session.country) == (
            "email", "spring", "LV")
        assert session.ip == "81.198.0.0"
        assert settled(PageVisit.objects.count) == 3

    # Anna is not online for chats yet: her invitation would find nobody to answer it.
    agent.get_by_role("button", name="Invite to chat").click()
    agent.get_by_text("Set your chat status to online first").wait_for()
    agent.get_by_role("link", name="Chat", exact=True).click()
    agent.wait_for_function("window.sarunaChat && window.sarunaChat.welcome")
    agent.get_by_label("Chat status").select_option("online")
    agent.locator("#status-form[data-saved=online]").wait_for()
    agent.get_by_role("link", name="Visitors").click()
    row.click()
    agent.locator("#invite-text").fill("Need help choosing a tree?")
    agent.get_by_role("button", name="Invite to chat").click()
    agent.get_by_text("Invitation sent.").wait_for()
    # The next heartbeat (20 s at most) brings it; the loader shows it as a bubble.
    visitor.get_by_text("Need help choosing a tree?").wait_for(timeout=30000)
    with scope(account=account):
        assert settled(Invitation.objects.get).status == "shown"

    # Accepting opens the panel (built while nobody was online) on the conversation.
    visitor.get_by_role("button", name="Reply").click()
    chat.get_by_role("textbox", name="Message", exact=True).fill("Which pear tree is hardy?")
    chat.get_by_role("button", name="Send", exact=True).click()
    chat.get_by_text("Need help choosing a tree?").wait_for()  # the invitation opens the chat
    notice = agent.locator("#chat-ring-notice")
    notice.get_by_text("New chat").wait_for()
    notice.get_by_role("button", name="Accept").click()  # and on to the chat screen
    pane = agent.locator(".chat-pane")
    pane.get_by_role("log").get_by_text("Which pear tree is hardy?").wait_for()
    pane.get_by_label("Message").fill("The Conference pear: it takes -30 °C.")
    pane.get_by_label("Message").press("Enter")
    chat.get_by_text("The Conference pear: it takes -30 °C.").wait_for()
    with scope(account=account):
        talk = settled(Chat.objects.select_related("ticket", "agent").get)
        invitation = settled(Invitation.objects.get)
        assert talk.ticket.channel_type == ChannelType.INVITATION
        assert (talk.agent, talk.invitation_id) == (anna, invitation.public_id)
        assert invitation.status == "accepted"

    visitor.evaluate("saruna('conversion', {id: 'order-1', value: 49.9, currency: 'EUR'})")
    visitor.wait_for_function(
        "window.dataLayer.some(entry => entry.event === 'saruna_conversion')")
    event = visitor.evaluate(
        "window.dataLayer.find(entry => entry.event === 'saruna_conversion')")
    assert (event["transaction_id"], event["value"], event["currency"]) == ("order-1", 49.9, "EUR")
    assert (event["saruna_chat"], event["saruna_agent"]) == (talk.public_id, "Anna Bērziņa")
    assert visitor.evaluate("window.dataLayer.map(entry => entry.event)") == [
        "saruna_invitation_shown", "saruna_invitation_accepted", "saruna_chat_started",
        "saruna_conversion"]
    with scope(account=account):
        conversion = settled(Conversion.objects.select_related("agent").get)
    assert (conversion.value_minor, conversion.chat_public_id, conversion.agent) == (
        4990, talk.public_id, anna)
    # The pages before the customer logged in are in their contact's history too.
    with scope(account=account):
        assert settled(page_visits_for_contact(contact).count) == 3
        assert talk.ticket.owner == contact


def test_nothing_is_stored_until_the_page_gives_consent(asgi_server, new_page, shop_setup):
    """With consent required, the widget sends nothing and Saruna keeps nothing until the
    host page calls ``saruna('consent', {tracking: true})`` (its cookie banner)."""
    account, _anna, shop = shop_setup
    with scope(account=account):
        save_tracking_settings(account, {"consent_required": True})
    visitor = new_page(**LAPTOP)
    visitor_from_riga(visitor)
    sent: list[str] = []
    visitor.on("request", lambda request: sent.append(request.url)
               if "/widget/track/" in request.url else None)
    visitor.goto(f"{shop.url}/pricing")
    visitor.wait_for_function("window.saruna && window.saruna._tracking")
    visitor.get_by_role("button", name="Chat with us").wait_for()
    assert sent == []
    with scopes_disabled():
        assert (Visitor.objects.count(), VisitSession.objects.count(),
                PageVisit.objects.count()) == (0, 0, 0)
    with visitor.expect_response("**/widget/track/") as tracked:
        visitor.evaluate("saruna('consent', {tracking: true})")
    assert tracked.value.status == 204
    with scopes_disabled():
        visit = settled(PageVisit.objects.get)
        assert (visit.title, visit.session.country) == ("Prices", "LV")
