"""The visitor panel beside a chat: place, current page, pages, source, new or returning,
path; from the live state while online, from the database afterwards. The Online visitors
screen around its live list: the credits and the map's outline."""

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django_scopes import scope
from pytest_django.asserts import assertContains

from saruna.visitors import live, queries
from saruna.visitors.models import Visitor
from tests.tenancy import host_client
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True


def _panel(account, token):
    with scope(account=account):
        visitor = Visitor.objects.get(public_id=token.split(".")[0])
        context = queries.visitor_panel(visitor)
    return context["visitor_panel"], render_to_string("visitors/_visitor_panel.html", context)


def test_the_panel_shows_the_visit(account):
    token, client = new_token(account), tracker(account)
    beat(client, token, url="https://shop.test/?utm_source=google&utm_medium=cpc", title="Home")
    beat(client, token, url="https://shop.test/pricing", title="Prices")
    live_panel, html = _panel(account, token)
    assert live_panel["online"] and live_panel["pages"] == 2
    assert "Riga" in html and "Paid: google" in html and "Prices" in html and "New" in html
    # The live state is gone (the visitor left long ago): the database answers.
    cache.delete(live.state_key(account.pk, token.split(".")[0]))
    stored_panel, html = _panel(account, token)
    assert not stored_panel["online"]
    assert [p["title"] for p in stored_panel["path"]] == ["Home", "Prices"]
    assert "Paid: google" in html and "Last visit" in html


def test_no_visits_no_panel(account):
    with scope(account=account):
        visitor = Visitor.objects.create(account=account, public_id="x" * 16)
        assert queries.visitor_panel(visitor) == {"visitor_panel": None}
        assert queries.visitor_panel(None) == {"visitor_panel": None}


def test_the_online_visitors_screen_credits_the_geolocation_database(account, agent):
    """DB-IP's licence (CC BY 4.0) asks for the linked credit wherever its data shows."""
    page = host_client(account, agent).get("/visitors/")
    assertContains(page, '<a href="https://db-ip.com" target="_blank" rel="noopener">'
                         'IP Geolocation by DB-IP</a>', html=True)


def test_the_map_outline_is_json(account, agent, settings, tmp_path):
    client = host_client(account, agent)
    response = client.get("/visitors/world.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    outline = response.json()
    assert outline["type"] == "Topology" and "land" in outline["objects"]
    settings.SARUNA_WORLD_ATLAS_DIR = str(tmp_path)  # not installed: the dots on a plain sea
    assert client.get("/visitors/world.json").status_code == 404
