"""The tracking endpoint: sessions, page visits, source, place, device, and the live state."""

import json

import pytest
from django_scopes import scope, scopes_disabled

from saruna.visitors import live
from saruna.visitors.models import PageVisit, Visitor, VisitSession
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True


def test_a_page_view_starts_a_visit_with_source_place_and_device(account):
    token = new_token(account)
    response = beat(tracker(account), token,
                    url="https://shop.test/shoes?utm_source=news&utm_medium=email&utm_campaign=may",
                    referrer="https://mail.example.org/")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    with scopes_disabled():
        session = VisitSession.objects.get()
        page = PageVisit.objects.get()
    assert (session.source_type, session.source_name) == ("email", "news")
    assert (session.utm_campaign, session.country, session.browser, session.device) == (
        "may", "LV", "Chrome", "desktop")
    assert session.city.startswith("Riga")
    assert session.ip == "81.198.0.0"  # truncated after locating
    assert page.url.startswith("https://shop.test/shoes") and page.session == session
    state = live.state(account.pk, token.split(".")[0])
    assert state["page_count"] == 1 and state["country"] == "LV"
    assert token.split(".")[0] in live.online_ids(account.pk)


def test_pages_of_one_visit_share_a_session_and_build_the_path(account):
    token, client = new_token(account), tracker(account)
    for path in ("/", "/pricing", "/contact"):
        beat(client, token, url=f"https://shop.test{path}")
        beat(client, token, event="ping", url=f"https://shop.test{path}")
    with scopes_disabled():
        session = VisitSession.objects.get()
        assert PageVisit.objects.count() == 3
    assert session.page_count == 3 and session.source_type == "direct"
    state = live.state(account.pk, token.split(".")[0])
    assert [p[0] for p in state["pages"]] == [
        "https://shop.test/", "https://shop.test/pricing", "https://shop.test/contact"]


def test_a_visitor_back_after_a_pause_is_returning(account, time_machine):
    time_machine.move_to("2026-05-01 10:00Z", tick=False)
    token, client = new_token(account), tracker(account)
    beat(client, token)
    time_machine.move_to("2026-05-02 10:00Z", tick=False)
    beat(client, token, url="https://shop.test/again")
    with scopes_disabled():
        first, second = VisitSession.objects.order_by("started_at")
    assert (first.returning, second.returning) == (False, True)


def test_ip_is_dropped_when_the_account_says_so(account):
    from saruna.visitors.actions import save_tracking_settings

    with scope(account=account):
        save_tracking_settings(account, {"ip_handling": "drop"})
    beat(tracker(account), new_token(account))
    with scopes_disabled():
        session = VisitSession.objects.get()
    assert session.ip is None and session.country == "LV"


def test_bad_input_is_refused_and_stores_nothing(account):
    client = tracker(account)
    assert beat(client, "forged.token").status_code == 400
    assert beat(client, new_token(account), event="scroll").status_code == 400
    assert beat(client, new_token(account), url="javascript:alert(1)").status_code == 400
    response = client.post("/widget/track/", "{nope", content_type="text/plain")
    assert response.status_code == 400 and "message" in response.json()
    with scopes_disabled():
        assert not Visitor.objects.exists() and not PageVisit.objects.exists()


def test_the_preflight_is_answered_for_any_origin(account):
    response = tracker(account).options("/widget/track/", HTTP_ORIGIN="https://shop.test")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"


def test_the_tracking_module_is_served_at_its_fixed_address(account):
    response = tracker(account).get("/widget/track.js")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "max-age" in response["Cache-Control"]
    assert b"/widget/track/" in response.content


def test_a_token_of_another_account_is_unknown(two_tenants):
    token_b = new_token(two_tenants.b)
    assert beat(tracker(two_tenants.a), token_b).status_code == 400
    with scopes_disabled():
        assert not Visitor.objects.exists()


def test_beats_are_written_in_batches_when_buffering(account, settings, monkeypatch):
    from saruna.visitors import tracking

    settings.SARUNA_TRACKING_FLUSH_SECONDS = 1
    monkeypatch.setattr(tracking, "queue", tracking.BeatQueue(start_writer=False))
    tokens = [new_token(account) for _ in range(5)]
    client = tracker(account)
    for token in tokens:
        assert beat(client, token).status_code == 204
    with scopes_disabled():
        assert not PageVisit.objects.exists()
    tracking.write_beats(tracking.queue.take())
    with scopes_disabled():
        assert PageVisit.objects.count() == 5 and VisitSession.objects.count() == 5
    assert len(live.online_ids(account.pk)) == 5


def test_json_body_with_the_header_token_is_accepted(account):
    token = new_token(account)
    body = {"event": "view", "url": "https://shop.test/"}
    response = tracker(account).post("/widget/track/", json.dumps(body),
                                     content_type="application/json", HTTP_X_SARUNA_VISITOR=token)
    assert response.status_code == 204
    with scopes_disabled():
        assert PageVisit.objects.count() == 1


def test_text_no_database_stores_is_cleaned_not_fatal(account):
    """A page title with a NUL would make PostgreSQL refuse the whole batch of page views."""
    token = new_token(account)
    response = beat(tracker(account), token, url="https://shop.test/\x00x",
                    title="Shoes\x00 \ud83d sale")
    assert response.status_code == 204
    with scopes_disabled():
        page = PageVisit.objects.get()
    assert page.title == "Shoes \ufffd sale"
    assert "\x00" not in page.url
