"""The audit log: append-only, and it says who acted: a user, the system, or provider staff."""

import pytest
from django.test import RequestFactory
from django_scopes import scope

from saruna.core import audit
from saruna.core.models import AuditEvent
from tests.factories import make_user


@pytest.fixture
def staff(db):
    return make_user(None, "staff@provider.test")


def test_staff_users_and_the_system_are_told_apart(account, owner, staff):
    with scope(account=account):
        by_staff = audit.record(account, "support_access.granted", actor=staff, reason="x")
        by_owner = audit.record(account, "user.invited", actor=owner, target=owner)
        by_system = audit.record(account, "session.expired")
    assert by_staff.actor_type == AuditEvent.ActorType.STAFF
    assert by_staff.actor_label == "staff@provider.test"
    assert by_staff.details == {"reason": "x"}
    assert by_owner.actor_type == AuditEvent.ActorType.USER
    assert (by_owner.target_type, by_owner.target_id) == ("user", owner.pk)
    assert by_system.actor_type == AuditEvent.ActorType.SYSTEM
    assert by_system.actor_user is None and by_system.actor_label == ""


def test_the_request_address_is_recorded(account, owner):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    with scope(account=account):
        event = audit.record(account, "user.logged_in", actor=owner, request=request)
    assert event.ip == "203.0.113.7"


def test_an_event_cannot_be_changed(account, owner):
    with scope(account=account):
        event = audit.record(account, "user.invited", actor=owner)
        event.verb = "nothing.happened"
        with pytest.raises(ValueError, match="append-only"):
            event.save()
        assert AuditEvent.objects.get(pk=event.pk).verb == "user.invited"


def test_an_event_cannot_be_deleted(account, owner):
    with scope(account=account):
        event = audit.record(account, "user.invited", actor=owner)
        with pytest.raises(ValueError, match="append-only"):
            event.delete()
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_an_accounts_log_is_its_own(two_tenants):
    with scope(account=two_tenants.a):
        audit.record(two_tenants.a, "user.invited", actor=two_tenants.owner_a)
    with scope(account=two_tenants.b):
        assert not AuditEvent.objects.exists()


def test_events_cannot_be_changed_or_removed_in_bulk(account, owner):
    with scope(account=account):
        audit.record(account, "user.invited", actor=owner)
        with pytest.raises(ValueError, match="append-only"):
            AuditEvent.objects.filter(account=account).update(verb="nothing.happened")
        with pytest.raises(ValueError, match="append-only"):
            AuditEvent.objects.all().delete()
        assert AuditEvent.objects.get().verb == "user.invited"


def test_deleting_an_account_still_removes_its_log(account, owner):
    from django_scopes import scopes_disabled

    with scope(account=account):
        audit.record(account, "user.invited", actor=owner)
    with scopes_disabled():
        account.delete()
        assert not AuditEvent.objects.exists()
