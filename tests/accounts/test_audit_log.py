from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from saruna.core import audit
from tests.factories import make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


def test_owner_sees_events_newest_first_with_actor_and_target(account, owner, agent,
                                                                owner_client):
    start = timezone.now() - timedelta(hours=1)
    with scope(account=account):
        with time_machine.travel(start):
            audit.record(account, "user.role_changed", actor=owner, target=agent, role="admin")
        with time_machine.travel(start + timedelta(minutes=5)):
            audit.record(account, "user.deactivated", actor=owner, target=agent)
    page = owner_client.get("/audit/").content.decode()
    assert page.index("User deactivated") < page.index("Role changed")
    assert "owner@acme.test" in page and "Agent &lt;agent@acme.test&gt;" in page
    assert "role: admin" in page


def test_times_are_shown_in_the_viewers_time_zone(account, owner, owner_client):
    owner.time_zone = "Europe/Riga"
    owner.save()
    with scope(account=account), time_machine.travel("2026-01-15 10:00:00+00:00"):
        audit.record(account, "user.profile_updated", actor=owner)
    assert "2026-01-15 12:00:00" in owner_client.get("/audit/").content.decode()


def test_filter_by_verb(account, owner, owner_client):
    with scope(account=account):
        audit.record(account, "auth.login", actor=owner, target=owner)
        audit.record(account, "auth.totp_enabled", actor=owner, target=owner)
    response = owner_client.get("/audit/", {"verb": "auth.totp_enabled"})
    page = response.content.decode()
    assert "Two-factor authentication turned on" in page
    assert "<td>Logged in</td>" not in page
    # A verb that never happened (a stale or hand-made link) shows the whole log.
    page = owner_client.get("/audit/", {"verb": "nonsense"}).content.decode()
    assert "<td>Logged in</td>" in page


def test_pages_of_fifty(account, owner, owner_client):
    base = timezone.now() - timedelta(days=1)
    with scope(account=account):
        for n in range(60):
            with time_machine.travel(base + timedelta(minutes=n)):
                audit.record(account, "auth.login", actor=owner, number=n)
    first = owner_client.get("/audit/").content.decode()
    assert "number: 59" in first and "number: 10" in first and "number: 9<" not in first
    assert "Page 1 of 2" in first
    second = owner_client.get("/audit/", {"page": 2}).content.decode()
    assert "number: 9<" in second and "number: 0<" in second and "number: 10<" not in second


def test_admin_sees_the_log_and_agent_gets_403(account, owner, agent):
    admin = make_user(account, "admin@acme.test", role="admin")
    assert host_client(account, admin).get("/audit/").status_code == 200
    assert host_client(account, agent).get("/audit/").status_code == 403


def test_log_shows_only_this_accounts_events(two_tenants):
    with scope(account=two_tenants.a):
        audit.record(two_tenants.a, "user.deactivated", actor=two_tenants.owner_a,
                     target=two_tenants.agent_a)
    page = two_tenants.client_b().get("/audit/").content.decode()
    assert "agent@alpha.test" not in page and "User deactivated" not in page
    assert "agent@alpha.test" in two_tenants.client_a().get("/audit/").content.decode()


def test_every_event_the_code_records_has_a_name_in_the_log():
    """The log shows words, not codes: a new ``audit.record(account, "x.y", ...)`` needs its
    label in AUDIT_VERBS (read from the source, so a new event cannot be forgotten)."""
    import re
    from pathlib import Path

    import saruna
    from saruna.accounts.views import AUDIT_VERBS

    recorded = set()
    for path in Path(saruna.__file__).parent.rglob("*.py"):
        recorded |= set(re.findall(
            r'audit\.record\(\s*[^,()]+(?:\([^)]*\))?[^,]*,\s*"([a-z_]+\.[a-z_.]+)"',
            path.read_text(),
        ))
    assert len(recorded) > 40  # the pattern still finds the calls
    assert sorted(recorded - set(AUDIT_VERBS)) == []
