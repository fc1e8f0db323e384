"""Client network facts (the address, and the network it belongs to) and CORS for the widget."""

import ipaddress
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

Response = TypeVar("Response", bound=HttpResponseBase)


def client_ip(request: HttpRequest) -> str | None:
    if settings.SARUNA_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def network_of(ip: str | None) -> str:
    """The network an address belongs to: /24 for IPv4, /48 for IPv6 (one home or office)."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def allow_any_origin(response: Response, methods: str = "POST, OPTIONS") -> Response:
    """CORS for the widget's endpoints: host pages on any origin call them without cookies,
    and what authorises a call is the visitor token it carries, not the origin."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = "Content-Type, X-Saruna-Visitor"
    response["Access-Control-Max-Age"] = "86400"
    return response
