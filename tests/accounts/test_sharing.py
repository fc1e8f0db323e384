"""Sharing findings: several people on one login, found over time."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_scopes import scope

from saruna.accounts import sharing, tasks
from saruna.accounts.models import SharingFinding, UserSession
from saruna.core.models import AuditEvent
from tests.accounts.test_sessions import (
    CHROME_WINDOWS,
    FIREFOX_UBUNTU,
    LONDON,
    RIGA_HOME,
    RIGA_OFFICE,
    RIGA_OFFICE_2,
    SAFARI_IPHONE,
    SAN_FRANCISCO,
    browser,
    log_in,
)

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)


def findings_of(user):
    with scope(account=user.account):
        return list(SharingFinding.objects.filter(user=user))


def keep_alive(*sessions):
    """The pages stay open: every session is seen now."""
    account = sessions[0].account
    with scope(account=account):
        UserSession.objects.filter(pk__in=[s.pk for s in sessions]).update(
            last_seen_at=timezone.now()
        )


def test_phone_and_laptops_on_one_network_are_not_a_finding(agent, owner):
    logins = [
        log_in(browser(agent.account, user_agent, ip), agent)
        for user_agent, ip in [(FIREFOX_UBUNTU, RIGA_OFFICE), (SAFARI_IPHONE, RIGA_OFFICE_2),
                               (CHROME_WINDOWS, RIGA_OFFICE)]
    ]
    keep_alive(*logins)
    tasks.sweep_sessions()
    assert findings_of(agent) == []
    assert mail.outbox == []


def test_three_devices_on_two_networks_at_once_is_a_finding(
    agent, owner, owner_client, django_capture_on_commit_callbacks
):
    start = timezone.now() - timedelta(hours=1)
    logins = []
    for minutes, (user_agent, ip) in enumerate(
        [(FIREFOX_UBUNTU, RIGA_OFFICE), (SAFARI_IPHONE, RIGA_OFFICE_2), (CHROME_WINDOWS, RIGA_HOME)]
    ):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            logins.append(log_in(browser(agent.account, user_agent, ip), agent))
    keep_alive(*logins)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_sessions()
    [finding] = findings_of(agent)
    assert finding.kind == "devices" and finding.status == "open"
    assert sorted(finding.evidence["sessions"]) == sorted(s.pk for s in logins)
    assert {e["network"] for e in finding.evidence["entries"]} == {
        "81.198.0.0/24", "87.110.0.0/24",
    }
    # The owner is told by e-mail and in the audit log.
    [message] = mail.outbox
    assert message.to == [owner.email]
    assert agent.full_name in message.subject
    assert "Firefox on Ubuntu" in message.body and "/security/sharing/" in message.body
    with scope(account=agent.account):
        assert AuditEvent.objects.filter(verb="sharing.detected").count() == 1
    page = owner_client.get("/security/sharing/").content.decode()
    assert "3 devices on 2 networks in use at the same time" in page
    assert "Mobile Safari on iOS" in page and "87.110.0.0/24" in page

    # Evaluating again (the next hourly run, the next login) reports nothing new.
    tasks.sweep_sessions()
    with time_machine.travel(timezone.now() + timedelta(hours=30)):
        keep_alive(*logins)
        tasks.sweep_sessions()
    assert len(findings_of(agent)) == 1


def test_two_devices_one_person_is_not_a_finding(agent, owner):
    laptop = log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    phone = log_in(browser(agent.account, ANDROID_CHROME, RIGA_HOME), agent)
    keep_alive(laptop, phone)
    tasks.sweep_sessions()
    assert findings_of(agent) == []


def test_impossible_travel_is_a_finding(agent, owner):
    start = timezone.now() - timedelta(hours=3)
    with time_machine.travel(start, tick=False):
        log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    # Riga → San Francisco (about 8,800 km) in two hours.
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        log_in(browser(agent.account, FIREFOX_UBUNTU, SAN_FRANCISCO), agent)
    tasks.sweep_sessions()
    [finding] = findings_of(agent)
    assert finding.kind == "travel"
    assert finding.evidence["distance_km"] > 8000
    assert finding.evidence["speed_kmh"] > 4000
    assert [e["place"][-2:] for e in finding.evidence["entries"]] == ["LV", "US"]


def test_a_flight_at_airliner_speed_is_not_a_finding(agent, owner):
    start = timezone.now() - timedelta(hours=5)
    with time_machine.travel(start, tick=False):
        log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    # Riga → London (about 1,700 km) four hours later.
    with time_machine.travel(start + timedelta(hours=4), tick=False):
        log_in(browser(agent.account, FIREFOX_UBUNTU, LONDON), agent)
    tasks.sweep_sessions()
    assert findings_of(agent) == []


def test_login_evaluates_at_once(agent, owner, django_capture_on_commit_callbacks):
    start = timezone.now() - timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        log_in(browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE), agent)
    with django_capture_on_commit_callbacks(execute=True):
        log_in(browser(agent.account, CHROME_WINDOWS, SAN_FRANCISCO), agent)
    assert [f.kind for f in findings_of(agent)] == ["travel"]


def make_finding(user):
    with scope(account=user.account):
        return SharingFinding.objects.create(
            account=user.account, user=user, kind=SharingFinding.Kind.IMPOSSIBLE_TRAVEL,
            evidence={"rule": "travel", "sessions": [], "distance_km": 8800, "hours": 2.0,
                      "entries": []},
        )


def test_owner_sees_and_dismisses_findings(owner, agent, owner_client):
    finding = make_finding(agent)
    page = owner_client.get("/security/sharing/").content.decode()
    assert agent.email in page and "8800 km" in page
    response = owner_client.post(f"/security/sharing/{finding.pk}/dismiss/")
    assert response.status_code == 302
    with scope(account=owner.account):
        finding.refresh_from_db()
        assert finding.status == "dismissed"
        assert AuditEvent.objects.filter(verb="sharing.dismissed").exists()


def test_agents_cannot_see_findings(agent):
    finding = make_finding(agent)
    client = browser(agent.account, FIREFOX_UBUNTU, RIGA_OFFICE)
    client.force_login(agent)
    assert client.get("/security/sharing/").status_code == 403
    assert client.post(f"/security/sharing/{finding.pk}/dismiss/").status_code == 403
    assert findings_of(agent)[0].status == "open"


def test_tenant_b_cannot_see_or_dismiss_tenant_a_findings(two_tenants):
    finding = make_finding(two_tenants.agent_a)
    assert two_tenants.agent_a.email not in two_tenants.client_b().get(
        "/security/sharing/"
    ).content.decode()
    two_tenants.assert_isolated(f"/security/sharing/{finding.pk}/dismiss/", method="post")


def test_distance_is_great_circle():
    riga_to_london = sharing.distance_km(56.9514, 24.1238, 51.5074, -0.1278)
    assert riga_to_london == pytest.approx(1675, abs=25)  # great-circle Riga to London
