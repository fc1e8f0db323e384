"""An account's tracking settings, and the ``tracking`` part of the widget's configuration
(docs/widget.md)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction

from saruna.core.models import Account
from saruna.visitors.models import TrackingSettings

# The tracking endpoint reads the settings on every beat: keep them in the cache briefly.
SETTINGS_CACHE_SECONDS = 30


def _cache_key(account_id: str) -> str:
    return f"{account_id}:visitors:settings"


def tracking_settings(account: Account) -> TrackingSettings:
    """The account's settings (made with the defaults on first use). Call inside its scope."""
    cached = cache.get(_cache_key(account.pk))
    if isinstance(cached, TrackingSettings) and cached.account_id == account.pk:
        return cached
    found = TrackingSettings.objects.filter(account=account).first()
    if found is None:
        try:
            with transaction.atomic():
                found = TrackingSettings.objects.create(account=account)
        except IntegrityError:  # another request made it first
            found = TrackingSettings.objects.get(account=account)
    cache.set(_cache_key(account.pk), found, SETTINGS_CACHE_SECONDS)
    return found


def forget_cached_settings(account: Account) -> None:
    """Called by the action that saves the settings, so the change applies at once."""
    cache.delete(_cache_key(account.pk))


def tracking_config(account: Account) -> dict[str, Any]:
    """The ``tracking`` object of the widget's config.json."""
    settings = tracking_settings(account)
    return {
        "enabled": settings.enabled,
        "consent_required": settings.consent_required,
        "respect_dnt": settings.respect_dnt,
        "geolocation_consent_required": settings.geolocation_consent_required,
    }
