"""Settings → Visitors: the privacy settings and the invitation rules."""

from django_scopes import scope

from saruna.visitors.config import tracking_config
from saruna.visitors.models import InvitationRule
from tests.tenancy import host_client


def test_an_admin_changes_privacy_settings_and_rules(account, owner, owner_client):
    page = owner_client.get("/settings/visitors/")
    assert page.status_code == 200 and b"Invitation rules" in page.content
    response = owner_client.post("/settings/visitors/", {
        "save_settings": "1", "enabled": "on", "consent_required": "on", "ip_handling": "drop",
        "retention_days": "30", "attribution_window_days": "14", "attribution_model": "first",
        "invitation_pause_minutes": "60", "invitations_per_day": "2"})
    assert response.status_code == 302
    with scope(account=account):
        assert tracking_config(account)["consent_required"] is True
        assert tracking_config(account)["respect_dnt"] is False  # unchecked
    owner_client.post("/settings/visitors/", {
        "add_rule": "1", "name": "Pricing", "text": "Questions?", "position": "0",
        "url_contains": "/pricing", "min_seconds_on_page": "30", "min_pages": "0",
        "returning": "unknown", "enabled": "on"})
    with scope(account=account):
        rule = InvitationRule.objects.get()
    assert (rule.url_contains, rule.min_seconds_on_page, rule.returning) == ("/pricing", 30, None)
    owner_client.post(f"/settings/visitors/rules/{rule.public_id}/delete/")
    with scope(account=account):
        assert not InvitationRule.objects.exists()


def test_bad_values_change_nothing(account, owner_client):
    response = owner_client.post("/settings/visitors/", {
        "save_settings": "1", "ip_handling": "keep", "retention_days": "-1"})
    assert response.status_code == 200 and b"errorlist" in response.content
    with scope(account=account):
        assert tracking_config(account)["enabled"] is True


def test_agents_cannot_open_it(account, agent):
    assert host_client(account, agent).get("/settings/visitors/").status_code == 403
