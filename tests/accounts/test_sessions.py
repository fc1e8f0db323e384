"""Login sessions: what gets recorded, the heartbeat, the session list, retention."""

from datetime import timedelta

import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.utils import timezone
from django_scopes import scope

from saruna.accounts import tasks
from saruna.accounts.models import UserSession
from saruna.accounts.sessions import start_session
from saruna.core.models import AuditEvent
from tests.factories import make_user

FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
# Public addresses the bundled DB-IP file places in Riga, London and San Francisco.
RIGA_OFFICE, RIGA_OFFICE_2 = "81.198.0.10", "81.198.0.20"
RIGA_HOME = "87.110.0.1"
LONDON = "212.58.244.1"
SAN_FRANCISCO = "151.101.0.1"


def browser(account, user_agent: str, ip: str) -> Client:
    """A browser on the account's host with its own device (user agent) and network (IP)."""
    return Client(HTTP_HOST=account.host, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)


def log_in(client: Client, user) -> UserSession:
    """What the login view does: ``auth.login`` and then ``start_session`` for that browser."""
    client.force_login(user)
    key = client.cookies["sessionid"].value
    request = RequestFactory().post(
        "/login/", HTTP_HOST=user.account.host,
        HTTP_USER_AGENT=client.defaults.get("HTTP_USER_AGENT", ""),
        REMOTE_ADDR=client.defaults.get("REMOTE_ADDR", "127.0.0.1"),
    )
    request.session = SessionStore(session_key=key)
    request.user = user
    request.account = user.account
    with scope(account=user.account):
        session = start_session(request, user)
    request.session.save()
    assert session is not None
    return session


def sessions_of(user):
    with scope(account=user.account):
        return list(UserSession.objects.filter(user=user).order_by("created_at", "pk"))


def test_login_records_device_network_and_place(agent):
    client = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    session = log_in(client, agent)
    assert session.device_label == "Firefox on Ubuntu"
    assert session.ip == RIGA_OFFICE
    assert session.network == "81.198.0.0/24"
    assert session.country == "LV" and session.city.startswith("Riga")
    assert session.latitude and session.longitude
    assert not session.pending_concurrent


def test_private_address_is_recorded_without_place(agent):
    session = log_in(browser(agent.account, FIREFOX_UBUNTU, "192.168.1.20"), agent)
    assert session.network == "192.168.1.0/24"
    assert session.country == "" and session.latitude is None


def test_heartbeat_moves_last_seen_at_most_once_a_minute(agent):
    client = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        session = log_in(client, agent)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert client.get("/").status_code == 200
    assert sessions_of(agent)[0].last_seen_at == session.last_seen_at
    later = start + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        assert client.post("/sessions/heartbeat/").status_code == 204
    assert sessions_of(agent)[0].last_seen_at == later


def test_heartbeat_tells_an_ended_login(account):
    assert Client(HTTP_HOST=account.host).post("/sessions/heartbeat/").status_code == 401


def test_session_list_shows_this_and_other_devices(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    phone = browser(agent.account, SAFARI_IPHONE, RIGA_OFFICE_2)
    log_in(laptop, agent)
    log_in(phone, agent)
    page = laptop.get("/sessions/").content.decode()
    assert "Firefox on Ubuntu" in page and "this device" in page
    assert "Mobile Safari on iOS" in page
    assert "Riga" in page


def test_log_out_one_other_session(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    phone = browser(agent.account, SAFARI_IPHONE, RIGA_OFFICE_2)
    log_in(laptop, agent)
    phone_session = log_in(phone, agent)
    response = laptop.post(f"/sessions/{phone_session.pk}/end/")
    assert response.status_code == 302
    assert "/login/" in phone.get("/")["Location"]
    assert laptop.get("/").status_code == 200
    with scope(account=agent.account):
        assert UserSession.objects.get(pk=phone_session.pk).end_reason == "revoked"
        assert AuditEvent.objects.filter(verb="session.revoked").exists()


def test_log_out_this_sessions_own_row_logs_out(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    session = log_in(laptop, agent)
    assert "/login/" in laptop.post(f"/sessions/{session.pk}/end/")["Location"]
    assert "/login/" in laptop.get("/")["Location"]
    assert sessions_of(agent)[0].end_reason == "logout"


def test_log_out_all_other_sessions(agent):
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    others = [browser(agent.account, SAFARI_IPHONE, RIGA_OFFICE_2),
              browser(agent.account, CHROME_WINDOWS, RIGA_OFFICE_2)]
    log_in(laptop, agent)
    for other in others:
        log_in(other, agent)
    laptop.post("/sessions/end-others/")
    for other in others:
        assert "/login/" in other.get("/")["Location"]
    assert laptop.get("/").status_code == 200
    page = laptop.get("/sessions/").content.decode()
    assert "Mobile Safari" not in page
    with scope(account=agent.account):
        assert AuditEvent.objects.filter(verb="session.revoked_others").exists()


def test_users_see_only_their_own_sessions(agent, owner):
    owner_session = log_in(browser(owner.account, CHROME_WINDOWS, LONDON), owner)
    laptop = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    log_in(laptop, agent)
    assert "Chrome on Windows" not in laptop.get("/sessions/").content.decode()
    assert laptop.post(f"/sessions/{owner_session.pk}/end/").status_code == 404


def test_tenant_b_cannot_see_or_end_tenant_a_sessions(two_tenants):
    session_a = log_in(two_tenants.client_a(), two_tenants.owner_a)
    log_in(browser(two_tenants.a, SAFARI_IPHONE, LONDON), two_tenants.owner_a)
    two_tenants.assert_isolated(f"/sessions/{session_a.pk}/end/", method="post")
    # The owner of B ending "session 1" on B's host did not touch A's session.
    assert sessions_of(two_tenants.owner_a)[1].ended_at is None
    assert "Mobile Safari" not in two_tenants.client_b().get("/sessions/").content.decode()


def test_expired_django_session_counts_as_ended(agent):
    client = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    session = log_in(client, agent)
    Session.objects.filter(session_key=session.session_key).delete()
    tasks.sweep_sessions()
    ended = sessions_of(agent)[0]
    assert ended.end_reason == "expired" and ended.ended_at == ended.last_seen_at


def test_raw_ips_are_blanked_after_retention(agent, settings):
    settings.SARUNA_RAW_IP_RETENTION_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=31)):
        log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    log_in(browser(agent.account, SAFARI_IPHONE, RIGA_OFFICE_2), agent)
    tasks.forget_raw_ips()
    old, new = sessions_of(agent)
    assert old.ip is None and old.network == "81.198.0.0/24" and old.country == "LV"
    assert new.ip == RIGA_OFFICE_2


def test_support_access_is_not_recorded(account):
    staff = make_user(None, "staff@saruna.test")
    request = RequestFactory().post("/", HTTP_HOST=account.host)
    request.session = SessionStore()
    request.support_grant = object()
    with scope(account=account):
        assert start_session(request, staff) is None
        assert not UserSession.objects.exists()
