"""Named (IANA) time zones: the one list every time-zone picker offers."""

from __future__ import annotations

import datetime
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@cache
def zone_names() -> tuple[str, ...]:
    """Region/City names plus UTC; the legacy aliases (``EST5EDT``, ``Cuba``) are left out."""
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in zone_names()]


def utc_offset_seconds(name: str, at: datetime.datetime | None = None) -> int:
    """The zone's offset from UTC at ``at`` (now by default), daylight saving included."""
    moment = at or datetime.datetime.now(datetime.UTC)
    offset = moment.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def validate_zone_name(name: str) -> None:
    if name and name not in zone_names():
        raise ValidationError(_("Unknown time zone: %(name)s"), params={"name": name})
