"""An account's tracking settings, and the ``tracking`` part of the widget's configuration
(docs/widget.md)."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction

from saruna.core.models import Account
from saruna.visitors.models import TrackingSettings

# The tracking endpoint reads the settings on every beat: keep them in the shared cache, and
# for a few seconds in the process (a change reaches every process within that time).
SETTINGS_CACHE_SECONDS = 30
PROCESS_SECONDS = 5
_in_process: dict[str, tuple[float, TrackingSettings]] = {}


def _cache_key(account_id: str) -> str:
    return f"{account_id}:visitors:settings"


def tracking_settings(account: Account) -> TrackingSettings:
    """The account's settings (made with the defaults on first use). Call inside its scope."""
    near = _in_process.get(account.pk)
    if near is not None and near[0] > time.monotonic():
        return near[1]
    found = _shared_settings(account)
    _in_process[account.pk] = (time.monotonic() + PROCESS_SECONDS, found)
    return found


def _shared_settings(account: Account) -> TrackingSettings:
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
    """Called by the action that saves the settings, so the change applies at once (in
    other processes within ``PROCESS_SECONDS``)."""
    _in_process.pop(account.pk, None)
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
