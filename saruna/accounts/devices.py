"""Which device a request comes from: a stable fingerprint and a label people recognise.

The fingerprint hashes what stays the same on one device across days (browser family,
operating system, device model; the client hints Chromium browsers send) and leaves out
version numbers, so a browser update does not turn a laptop into "a new device".
Two people with the same browser on the same kind of computer look like one device:
the concurrent-login screen and the overlap rule then rely on the network instead,
and impossible travel still applies (docs/sharing-detection.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ua_parser import parse

# Asked for with Accept-CH so that Chromium sends the model on Android, where its user agent
# string no longer names the phone. The low-entropy hints are sent without asking.
REQUESTED_CLIENT_HINTS = "Sec-CH-UA-Model"

# Chromium adds a fake brand with a changing spelling ("Not A(Brand", "Not/A)Brand", ...).
_GREASE_BRAND = re.compile(r"not.?a.?brand", re.IGNORECASE)
_BRAND = re.compile(r'"([^"]*)"\s*;\s*v="[^"]*"')
# Parsers' placeholders for "no device model": not worth showing or hashing.
_GENERIC_DEVICES = {"", "other", "k", "generic smartphone", "generic feature phone", "spider"}


@dataclass(frozen=True)
class Device:
    fingerprint: str
    label: str


def _unquote(value: str) -> str:
    return value.strip().strip('"').strip()


def _brands(header: str) -> list[str]:
    """``"Chromium";v="126", "Google Chrome";v="126"`` → ``["Chromium", "Google Chrome"]``."""
    return sorted(
        {b.strip() for b in _BRAND.findall(header) if b.strip() and not _GREASE_BRAND.search(b)}
    )


@lru_cache(maxsize=1024)
def _parse_ua(user_agent: str) -> tuple[str, str, str]:
    """(browser family, OS family, device model) with empty strings for what is unknown."""
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else ""
    system = result.os.family if result.os else ""
    model = ""
    if result.device is not None:
        model = result.device.model or result.device.family or ""
        if model.lower() in _GENERIC_DEVICES:
            model = ""
        elif result.device.brand and not model.startswith(result.device.brand):
            model = f"{result.device.brand} {model}"
    return browser, system, model


def identify(user_agent: str, hints: dict[str, str]) -> Device:
    """The device behind ``user_agent`` and the client hint headers in ``hints`` (keys like
    ``Sec-CH-UA-Platform``, matched case-insensitively)."""
    hints = {k.lower(): v for k, v in hints.items()}
    browser, system, model = _parse_ua(user_agent)
    platform = _unquote(hints.get("sec-ch-ua-platform", ""))
    hint_model = _unquote(hints.get("sec-ch-ua-model", ""))
    mobile = hints.get("sec-ch-ua-mobile", "").strip()
    brands = _brands(hints.get("sec-ch-ua", ""))

    parts = [browser, system, model, platform, hint_model, mobile, ",".join(brands)]
    fingerprint = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    shown_model = hint_model or model
    shown_system = platform or system
    if shown_model and shown_system:
        shown_system = f"{shown_system}, {shown_model}"
    else:
        shown_system = shown_system or shown_model
    shown_browser = browser if browser and browser != "Other" else ""
    if shown_browser and shown_system:
        label = _("%(browser)s on %(system)s") % {
            "browser": shown_browser, "system": shown_system,
        }
    else:
        label = shown_browser or shown_system or _("Unknown device")
    return Device(fingerprint=fingerprint, label=label[:200])


def device_of(request: HttpRequest) -> Device:
    return identify(
        request.META.get("HTTP_USER_AGENT", ""),
        {
            "Sec-CH-UA": request.META.get("HTTP_SEC_CH_UA", ""),
            "Sec-CH-UA-Mobile": request.META.get("HTTP_SEC_CH_UA_MOBILE", ""),
            "Sec-CH-UA-Platform": request.META.get("HTTP_SEC_CH_UA_PLATFORM", ""),
            "Sec-CH-UA-Model": request.META.get("HTTP_SEC_CH_UA_MODEL", ""),
        },
    )
