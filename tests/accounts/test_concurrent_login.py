"""The concurrent-login screen: a second person on the same login has to choose."""

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone
from django_scopes import scope

from saruna.accounts.models import UserSession
from saruna.core.models import AuditEvent
from saruna.realtime.bus import user_group
from tests.accounts.test_sessions import (
    CHROME_WINDOWS,
    FIREFOX_UBUNTU,
    LONDON,
    RIGA_HOME,
    RIGA_OFFICE,
    RIGA_OFFICE_2,
    SAFARI_IPHONE,
    browser,
    log_in,
    sessions_of,
)
from tests.factories import PASSWORD


def sees_screen(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response["Location"] == "/concurrent-login/"


def test_phone_and_laptop_on_one_network_see_no_screen(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    phone = browser(agent.account, SAFARI_IPHONE, RIGA_OFFICE_2)
    log_in(laptop, agent)
    log_in(phone, agent)
    assert not sees_screen(phone)
    assert phone.get("/").status_code == 200
    assert laptop.get("/").status_code == 200


def test_same_device_from_a_new_network_sees_no_screen(agent):
    log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    at_home = browser(agent.account, FIREFOX_UBUNTU, RIGA_HOME)
    log_in(at_home, agent)
    assert at_home.get("/").status_code == 200


def test_other_device_on_other_network_sees_the_screen(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    log_in(laptop, agent)
    elsewhere = browser(agent.account, CHROME_WINDOWS, LONDON)
    log_in(elsewhere, agent)

    assert sees_screen(elsewhere)
    assert elsewhere.get("/sessions/")["Location"] == "/concurrent-login/"
    page = elsewhere.get("/concurrent-login/").content.decode()
    assert "Firefox on Ubuntu" in page and "Riga" in page
    assert "Continue here and end the other session" in page and "Cancel" in page
    # The screen does not hold up the heartbeat, logout or static files.
    assert elsewhere.post("/sessions/heartbeat/").status_code == 204
    assert elsewhere.get("/static/web/saruna.css").status_code == 200
    # The first browser is not disturbed.
    assert laptop.get("/").status_code == 200
    with scope(account=agent.account):
        assert AuditEvent.objects.filter(verb="session.concurrent_login").exists()


def test_through_the_login_page(agent):
    """The whole way a person goes: the login form, then the screen on the second browser."""
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    elsewhere = browser(agent.account, CHROME_WINDOWS, LONDON)
    for client in (laptop, elsewhere):
        response = client.post("/login/", {"email": agent.email, "password": PASSWORD})
        assert response.status_code == 302, response.content
    assert laptop.get("/").status_code == 200
    assert sees_screen(elsewhere)
    elsewhere.post("/concurrent-login/", {"decision": "continue"})
    assert "/login/" in laptop.get("/")["Location"]
    assert elsewhere.get("/").status_code == 200


def test_an_idle_session_does_not_trigger_the_screen(agent):
    laptop_session = log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    with scope(account=agent.account):
        UserSession.objects.filter(pk=laptop_session.pk).update(
            last_seen_at=timezone.now() - timedelta(minutes=30)
        )
    elsewhere = browser(agent.account, CHROME_WINDOWS, LONDON)
    log_in(elsewhere, agent)
    assert elsewhere.get("/").status_code == 200


def listen_to(group: str) -> Callable[[], dict]:
    """A page's socket in ``group``: a channel of the test's own, on an event loop of its own
    that stays subscribed (Redis pub/sub gives an event only to the channels subscribed when
    it is published). Answers a function that waits for the next event."""
    joined, asked = threading.Event(), threading.Event()
    events: list[dict] = []

    async def page() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        joined.set()
        await asyncio.to_thread(asked.wait, 30)
        events.append(await asyncio.wait_for(layer.receive(channel), 10))

    thread = threading.Thread(target=asyncio.run, args=(page(),))
    thread.start()
    assert joined.wait(10)

    def next_event() -> dict:
        asked.set()
        thread.join(15)
        return events[0]

    return next_event


def test_continue_logs_the_other_browser_out(agent, django_capture_on_commit_callbacks):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    laptop_session = log_in(laptop, agent)
    elsewhere = browser(agent.account, CHROME_WINDOWS, LONDON)
    log_in(elsewhere, agent)

    laptop_page = listen_to(user_group(agent.account_id, agent.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = elsewhere.post("/concurrent-login/", {"decision": "continue"})
    assert response["Location"] == "/"
    assert elsewhere.get("/").status_code == 200

    # The laptop's next request goes to the login page, and its open page was told.
    response = laptop.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    event = laptop_page()
    assert event == {
        "type": "session.ended", "session_key": laptop_session.session_key, "reason": "replaced",
        "group": user_group(agent.account_id, agent.pk),
    }
    laptop_now = sessions_of(agent)[0]
    assert laptop_now.end_reason == "replaced"
    with scope(account=agent.account):
        assert AuditEvent.objects.filter(verb="session.replaced_others").exists()


def test_cancel_logs_this_browser_out_and_keeps_the_other(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    log_in(laptop, agent)
    elsewhere = browser(agent.account, CHROME_WINDOWS, LONDON)
    log_in(elsewhere, agent)

    response = elsewhere.post("/concurrent-login/", {"decision": "cancel"})
    assert "/login/" in response["Location"]
    response = elsewhere.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert laptop.get("/").status_code == 200
    assert [s.end_reason for s in sessions_of(agent)] == ["", "cancelled"]
    with scope(account=agent.account):
        assert AuditEvent.objects.filter(verb="session.login_cancelled").exists()


def test_screen_goes_away_when_the_other_session_logs_out(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    log_in(laptop, agent)
    elsewhere = browser(agent.account, CHROME_WINDOWS, LONDON)
    log_in(elsewhere, agent)
    laptop.post("/logout/")
    assert elsewhere.get("/concurrent-login/")["Location"] == "/"
    assert elsewhere.get("/").status_code == 200


@pytest.mark.parametrize("decision", ["continue", "cancel"])
def test_tenant_b_cannot_act_on_tenant_a_screen(two_tenants, decision):
    a = two_tenants.agent_a
    log_in(browser(a.account, FIREFOX_UBUNTU, RIGA_OFFICE), a)
    log_in(browser(a.account, CHROME_WINDOWS, LONDON), a)
    b = two_tenants.agent_b
    b_browser = browser(b.account, SAFARI_IPHONE, RIGA_HOME)
    log_in(b_browser, b)
    b_browser.post("/concurrent-login/", {"decision": decision})
    assert [s.ended_at for s in sessions_of(a)] == [None, None]
