"""Privacy by default: consent, Do-Not-Track / Global Privacy Control, geolocation consent."""

import pytest
from django_scopes import scope, scopes_disabled

from saruna.visitors import live
from saruna.visitors.actions import save_tracking_settings
from saruna.visitors.config import tracking_config
from saruna.visitors.models import Conversion, PageVisit, Visitor, VisitSession
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True


def _set(account, **fields):
    with scope(account=account):
        save_tracking_settings(account, fields)


def _nothing_stored(account, token):
    with scopes_disabled():
        assert not Visitor.objects.exists()
        assert not VisitSession.objects.exists()
        assert not PageVisit.objects.exists()
        assert not Conversion.objects.exists()
    assert live.state(account.pk, token.split(".")[0]) is None
    assert live.online_ids(account.pk) == {}


def test_config_tells_the_widget_what_the_account_requires(account):
    _set(account, consent_required=True, geolocation_consent_required=True, respect_dnt=False)
    with scope(account=account):
        assert tracking_config(account) == {
            "enabled": True, "consent_required": True, "respect_dnt": False,
            "geolocation_consent_required": True}


def test_without_consent_nothing_is_stored(account):
    _set(account, consent_required=True)
    token, client = new_token(account), tracker(account)
    assert beat(client, token).status_code == 204
    assert beat(client, token, consent={"tracking": False}).status_code == 204
    assert beat(client, token, event="ping").status_code == 204
    conversion = client.post("/widget/conversion/", f'{{"token": "{token}", "id": "o-1"}}',
                             content_type="text/plain")
    assert conversion.status_code == 204
    _nothing_stored(account, token)


def test_with_consent_the_visit_is_tracked(account):
    _set(account, consent_required=True)
    token = new_token(account)
    beat(tracker(account), token, consent={"tracking": True, "geolocation": True})
    with scopes_disabled():
        assert PageVisit.objects.count() == 1


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_do_not_track_and_gpc_are_honoured_when_the_account_chooses(account, header):
    token = new_token(account)
    beat(tracker(account, **{header: "1"}), token)
    _nothing_stored(account, token)
    _set(account, respect_dnt=False)
    beat(tracker(account, **{header: "1"}), token)
    with scopes_disabled():
        assert PageVisit.objects.count() == 1


def test_tracking_switched_off_stores_nothing(account):
    _set(account, enabled=False)
    token = new_token(account)
    assert beat(tracker(account), token).status_code == 204
    _nothing_stored(account, token)


def test_geolocation_is_a_separate_purpose(account):
    _set(account, geolocation_consent_required=True)
    beat(tracker(account), new_token(account), consent={"tracking": True})
    beat(tracker(account), new_token(account), consent={"tracking": True, "geolocation": True})
    with scopes_disabled():
        places = sorted(VisitSession.objects.values_list("country", flat=True))
        without = VisitSession.objects.get(country="")
    assert places == ["", "LV"]
    assert without.ip == "81.198.0.0" and without.latitude is None
