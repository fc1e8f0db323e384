"""``GET /time_zones`` (API §23): the IANA zones with their current offsets. No key needed:
LiveAgent's client sends none here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from saruna.api.v3.common import responses
from saruna.core.timezones import utc_offset_seconds, zone_names

router = Router(tags=["time zones"])


class TimeZoneOut(Schema):
    code: str
    name: str


def _label(offset: int, name: str) -> str:
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"(UTC{sign}{hours:02d}:{minutes:02d}) {name}"


@router.get("/time_zones", response=responses(list[TimeZoneOut]), auth=None,
            summary="List time zones (no API key needed)")
def list_time_zones(request: HttpRequest) -> list[dict[str, Any]]:
    zones = sorted((utc_offset_seconds(name), name) for name in zone_names())
    return [{"code": name, "name": _label(offset, name)} for offset, name in zones]
