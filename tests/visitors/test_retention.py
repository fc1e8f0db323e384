"""Raw page visits go after the account's retention period."""

from django_scopes import scope, scopes_disabled

from saruna.visitors.actions import save_tracking_settings
from saruna.visitors.models import PageVisit, VisitSession
from saruna.visitors.tasks import sweep_old_page_visits
from tests.visitors.helpers import beat, new_token, tracker


def test_the_sweep_keeps_recent_visits_only(account, time_machine):
    with scope(account=account):
        save_tracking_settings(account, {"retention_days": 10})
    time_machine.move_to("2026-05-01 10:00Z", tick=False)
    beat(tracker(account), new_token(account), url="https://shop.test/old")
    time_machine.move_to("2026-05-09 10:00Z", tick=False)
    beat(tracker(account), new_token(account), url="https://shop.test/new")
    time_machine.move_to("2026-05-12 10:00Z", tick=False)
    sweep_old_page_visits.call_local()
    with scopes_disabled():
        assert list(PageVisit.objects.values_list("url", flat=True)) == ["https://shop.test/new"]
        assert VisitSession.objects.count() == 1
    sweep_old_page_visits.call_local()  # again: nothing more goes
    with scopes_disabled():
        assert PageVisit.objects.count() == 1


def test_the_default_keeps_ninety_days(account, time_machine):
    time_machine.move_to("2026-01-01 10:00Z", tick=False)
    beat(tracker(account), new_token(account))
    time_machine.move_to("2026-03-31 09:00Z", tick=False)
    sweep_old_page_visits.call_local()
    with scopes_disabled():
        assert PageVisit.objects.count() == 1
    time_machine.move_to("2026-04-01 11:00Z", tick=False)
    sweep_old_page_visits.call_local()
    with scopes_disabled():
        assert PageVisit.objects.count() == 0
