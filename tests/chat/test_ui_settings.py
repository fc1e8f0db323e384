"""Settings → Chat buttons and chat routing, as an owner uses them; the agent's chat screen."""

import re

import pytest
from django_scopes import scope

from saruna.chat import actions, queries
from saruna.chat.models import ChatButton, RoutingMethod
from saruna.tickets import actions as ticket_actions
from saruna.visitors.identity import identity_signature, widget_secret
from tests.chat.helpers import make_button, put_online, start
from tests.factories import make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


def management(prefix, total):
    """As the page sends it: every row shown counts as an initial one."""
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(total),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "20"}


def button_post(department, **changes):
    data = {
        "name": "Shop chat", "department": department.pk, "enabled": "on",
        "position": "left", "background": "#aa3300", "text_color": "#ffffff",
        "text_en_title": "Talk to us", "text_lv_title": "Runā ar mums",
        "hours_mon": "09:00-12:00, 13:00-17:00", "hours_sat": "10:00-14:00",
        **management("pre", 2), **management("off", 2),
        "pre-0-label": "Your name", "pre-0-kind": "name", "pre-0-required": "on",
        "pre-1-label": "Order number", "pre-1-kind": "text",
        "off-0-label": "E-mail", "off-0-kind": "email", "off-0-required": "on",
        "off-1-label": "Topic", "off-1-kind": "select", "off-1-options": "Billing\nShipping\n",
    }
    return data | changes


@pytest.fixture
def department(account):
    with scope(account=account):
        return ticket_actions.save_department(account, name="Support")


def test_owner_creates_a_button_and_gets_its_snippet(owner_client, account, department):
    response = owner_client.post("/settings/chat/buttons/new/", button_post(department))
    assert response.status_code == 302
    with scope(account=account):
        button = ChatButton.objects.get()
    assert response["Location"] == f"/settings/chat/buttons/{button.public_id}/"
    assert button.position == "left"
    assert button.colors == {"background": "#aa3300", "text": "#ffffff"}
    assert button.texts == {"en": {"title": "Talk to us"}, "lv": {"title": "Runā ar mums"}}
    assert button.schedule == {"mon": [["09:00", "12:00"], ["13:00", "17:00"]],
                               "sat": [["10:00", "14:00"]]}
    assert button.prechat_fields[0]["name"] == "name"
    assert button.prechat_fields[1]["name"].startswith("q_")
    assert button.prechat_fields[1]["label"] == "Order number"
    assert button.offline_fields[1] == {"name": button.offline_fields[1]["name"],
                                        "label": "Topic", "type": "select", "required": False,
                                        "options": ["Billing", "Shipping"]}

    page = owner_client.get(response["Location"]).content.decode()
    snippet = re.search(r'<textarea id="embed-snippet"[^>]*>([^<]*)</textarea>', page)[1]
    assert "widget/loader.js" in snippet
    assert f"data-saruna-button=&quot;{button.public_id}&quot;" in snippet
    # The form shows what was saved; saving it again unchanged keeps the same field keys.
    assert 'value="09:00-12:00, 13:00-17:00"' in page
    key = button.prechat_fields[1]["name"]
    assert f'value="{key}"' in page
    again = button_post(department, **{"pre-1-key": key, "pre-0-key": "name"})
    owner_client.post(response["Location"], again)
    with scope(account=account):
        assert ChatButton.objects.get().prechat_fields[1]["name"] == key


def test_a_new_button_form_asks_for_name_email_and_message(owner_client):
    page = owner_client.get("/settings/chat/buttons/new/").content.decode()
    assert page.count('<option value="message" selected>') == 2  # pre-chat and offline


@pytest.mark.parametrize(("changes", "error"), [
    ({"hours_mon": "17:00-09:00"}, "Write hours like 09:00-17:00"),
    ({"background": "red"}, "Choose a colour like #1f6feb."),
    ({"off-1-options": ""}, "Give at least one choice."),
    ({"off-1-kind": "email"}, "Ask for the name, the e-mail address and the message once each."),
    ({"hours_mon": "", "hours_sat": ""}, "Give the hours of at least one day"),
])
def test_bad_button_settings_are_shown_and_change_nothing(owner_client, account, department,
                                                          changes, error):
    response = owner_client.post("/settings/chat/buttons/new/", button_post(department, **changes))
    assert response.status_code == 200
    assert error in response.content.decode()
    with scope(account=account):
        assert not ChatButton.objects.exists()


def test_always_available_clears_the_schedule(owner_client, account, department):
    owner_client.post("/settings/chat/buttons/new/", button_post(department, always="on"))
    with scope(account=account):
        assert ChatButton.objects.get().schedule == {}


def test_the_list_shows_the_identity_secret_that_signs_identities(owner_client, account):
    page = owner_client.get("/settings/chat/buttons/").content.decode()
    with scope(account=account):
        secret = widget_secret(account).identity_secret
    assert f'value="{secret}"' in page
    # The Python example on the page computes what the server verifies.
    example = re.search(r'<pre id="identity-python" class="code">(.*?)</pre>', page, re.S)[1]
    names = {"SARUNA_SECRET": secret, "user_id": "42", "email": "a@example.com", "name": "A"}
    exec(example.replace("&quot;", '"'), names)
    assert names["signature"] == identity_signature(secret, "42", "a@example.com", "A")


def test_deleting_a_button(owner_client, account, department, owner):
    with scope(account=account):
        button = actions.save_chat_button(account, name="Old", department=department)
    assert owner_client.get(f"/settings/chat/buttons/{button.public_id}/delete/").status_code == 200
    response = owner_client.post(f"/settings/chat/buttons/{button.public_id}/delete/")
    assert response["Location"] == "/settings/chat/buttons/"
    with scope(account=account):
        assert not ChatButton.objects.exists()


def test_agents_cannot_change_chat_settings(account, agent, department):
    client = host_client(account, agent)
    for path in ("/settings/chat/", "/settings/chat/buttons/", "/settings/chat/buttons/new/"):
        assert client.get(path).status_code == 403


def test_routing_settings_with_a_priority_order(owner_client, account, owner):
    anna = make_user(account, "anna@acme.test", full_name="Anna")
    ben = make_user(account, "ben@acme.test", full_name="Ben")
    response = owner_client.post("/settings/chat/", {
        "routing_method": RoutingMethod.PRIORITY, "ring_seconds": "20", "wait_limit": "120",
        "max_queue": "10", "default_max_chats": "4", "away_grace_seconds": "30",
        f"priority_{ben.pk}": "1", f"priority_{anna.pk}": "2",
    })
    assert response.status_code == 302
    with scope(account=account):
        saved = queries.chat_settings(account)
    assert saved.routing_method == RoutingMethod.PRIORITY
    assert (saved.ring_seconds, saved.wait_limit, saved.default_max_chats) == (20, 120, 4)
    assert saved.priority_order == [ben.pk, anna.pk]
    page = owner_client.get("/settings/chat/").content.decode()
    assert re.search(rf'name="priority_{ben.pk}" value="1"', page)


def test_routing_settings_refuse_a_too_short_ring(owner_client, account):
    response = owner_client.post("/settings/chat/", {
        "routing_method": RoutingMethod.RING_ALL, "ring_seconds": "2", "wait_limit": "120",
        "max_queue": "10", "default_max_chats": "4", "away_grace_seconds": "30",
    })
    assert "Ring for at least 5 seconds." in response.content.decode()
    with scope(account=account):
        assert queries.chat_settings(account).ring_seconds == 30


def test_another_account_cannot_open_a_button(two_tenants):
    with scope(account=two_tenants.a):
        department = ticket_actions.save_department(two_tenants.a, name="Sales")
        button = actions.save_chat_button(two_tenants.a, name="Alpha chat",
                                          department=department)
    two_tenants.assert_isolated(f"/settings/chat/buttons/{button.public_id}/")


def test_the_agent_chat_screen(account, agent, department):
    with scope(account=account):
        ticket_actions.save_department(account, department, agents=[agent])
    client = host_client(account, agent)
    page = client.get("/chat/").content.decode()
    assert 'id="chat-desk"' in page
    assert 'id="chat-nav"' in page  # the nav's Chat link, which rings on every page
    assert '<option value="offline" selected>' in page
    assert f'data-department="{department.public_id}"' in page
    assert client.get("/chat/panes/nosuchchat/visitor/").status_code == 404


def test_the_chat_screen_offers_shared_and_own_canned_messages(account, agent, department):
    other = make_user(account, "other@acme.test")
    with scope(account=account):
        sales = ticket_actions.save_department(account, name="Sales")
        ticket_actions.save_department(account, department, agents=[agent])
        for text, fields in [("Shared hello", {}), ("My own hello", {"user": agent}),
                             ("Support hello", {"department": department}),
                             ("Someone else's", {"user": other}),
                             ("Sales only", {"department": sales})]:
            ticket_actions.save_canned_message(account, messagetext=text, **fields)
    page = host_client(account, agent).get("/chat/").content.decode()
    offered = re.findall(r'<option value="([^"]+)">[^<]*</option>', page.split('class="canned"')[1]
                         .split("</select>")[0])
    assert sorted(offered) == ["My own hello", "Shared hello", "Support hello"]


def test_the_visitor_panel_beside_a_chat(account, agent):
    put_online(agent)
    button = make_button(account, prechat_fields=[
        {"name": "q_order", "label": "Order number", "type": "text", "required": False}])
    chat = start(button, fields={"name": "Vera", "q_order": "A-1001"})
    page = host_client(account, agent).get(f"/chat/panes/{chat.public_id}/visitor/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Vera" in text
    assert "<dt>Order number</dt><dd>A-1001</dd>" in text
