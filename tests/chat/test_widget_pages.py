"""The widget's own files: the loader script (cached, revalidated) and the chat UI page that
customers' sites frame; and that every text the scripts show has a translated source."""

import json
import re
from pathlib import Path

import pytest
from django_scopes import scope

from saruna.chat import actions
from tests.chat.helpers import make_button
from tests.tenancy import host_client

CHAT_STATIC = Path(__file__).resolve().parents[2] / "saruna" / "chat" / "static" / "chat"
TEMPLATES = Path(__file__).resolve().parents[2] / "saruna" / "chat" / "templates" / "chat"

pytestmark = pytest.mark.django_db


def test_the_loader_is_cached_and_revalidated(account):
    client = host_client(account)
    response = client.get("/widget/loader.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert b"data-saruna-button" in response.content
    again = client.get("/widget/loader.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again.content == b""


def chat_page(account, button, query=""):
    return host_client(account).get(f"/widget/{button.public_id}/chat/{query}")


def widget_data(response):
    found = re.search(rb'<script id="saruna-widget" type="application/json">(.*?)</script>',
                      response.content)
    return json.loads(found[1])


def test_the_chat_page_may_be_framed_and_allows_only_its_own_origin(account):
    button = make_button(account)
    response = chat_page(account, button)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors" not in policy  # any customer's site may frame it
    data = widget_data(response)
    assert data["button"] == button.public_id
    assert data["max_file_bytes"] > 0


def test_the_chat_page_speaks_the_language_config_chose(account):
    button = make_button(account)
    assert b'<html lang="lv">' in chat_page(account, button, "?lang=lv").content
    # A language the installation has no strings for: the account's.
    assert b'<html lang="en">' in chat_page(account, button, "?lang=xx").content


def test_a_disabled_or_unknown_button_has_no_chat_page(account):
    button = make_button(account)
    with scope(account=account):
        actions.save_chat_button(account, button, enabled=False)
    assert chat_page(account, button).status_code == 404
    assert host_client(account).get("/widget/nosuchbutton/chat/").status_code == 404


def used_keys(script: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, (CHAT_STATIC / script).read_text()))


def test_every_text_the_chat_ui_shows_is_served(account):
    served = set(widget_data(chat_page(account, make_button(account)))["strings"])
    assert used_keys("widget/chat.js", r"\bS\.(\w+)") <= served


@pytest.mark.parametrize(("script", "template", "element"), [
    ("desk.js", "desk.html", "chat-desk"),
    ("agent.js", "_nav.html", "chat-nav"),
])
def test_every_text_the_agent_scripts_show_is_in_their_template(script, template, element):
    """The agent scripts read their translated texts from data attributes of one element."""
    html = (TEMPLATES / template).read_text()
    tag = re.search(rf'<[a-z]+ [^>]*id="{element}"[^>]*>', html, re.S)[0]
    attributes = {re.sub(r"-(\w)", lambda m: m[1].upper(), name)
                  for name in re.findall(r"data-([a-z-]+)=", tag)}
    assert used_keys(script, r"\bS\.(\w+)") <= attributes
