"""Where a webhook may be sent: public addresses only.

A URL is checked when it is saved and again at every delivery, after DNS resolution and at
every redirect. The connection goes to the very address that was checked (the Host header
and the TLS certificate check still use the name), so a name that resolves to a public
address for the check and to a private one for the connection (DNS rebinding) gains nothing.
``SARUNA_WEBHOOKS_ALLOW_PRIVATE`` opens private, unique-local and loopback addresses for an
on-premise installation; link-local, cloud metadata, multicast and reserved addresses stay
closed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services; some sit outside the link-local range.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
    "169.254.170.2",  # AWS ECS task metadata
    "fd00:ec2::254",  # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
))
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "100.64.0.0/10",  # carrier-grade NAT: somebody's private network too
))
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
# What an on-premise installation may open; everything else not public stays closed.
OPENABLE = frozenset({"loopback", "private", "unique-local"})

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10
RESPONSE_EXCERPT_BYTES = 2000
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class UnsafeDestination(Exception):
    """A URL that may not be requested, explained for the person who entered it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def address_class(address: IPAddress) -> str | None:
    """The class of a non-public address (``loopback``, ``private``, ...), None for a public
    one. IPv4 addresses written as IPv6 (``::ffff:10.0.0.1``) are judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_link_local:
        return "link-local"
    if address.is_loopback:
        return "loopback"
    if isinstance(address, ipaddress.IPv4Address):
        if any(address in network for network in PRIVATE_NETWORKS):
            return "private"
    elif address in UNIQUE_LOCAL:
        return "unique-local"
    if not address.is_global:
        return "reserved"
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be a webhook's destination under this installation's settings."""
    kind = address_class(address)
    if kind is None or (kind in OPENABLE and settings.SARUNA_WEBHOOKS_ALLOW_PRIVATE):
        return None
    names = {
        "metadata": _("a cloud metadata address"),
        "unspecified": _("an unspecified address"),
        "multicast": _("a multicast address"),
        "link-local": _("a link-local address"),
        "loopback": _("a loopback address"),
        "private": _("a private network address"),
        "unique-local": _("a unique-local address"),
        "reserved": _("a reserved address"),
    }
    return names[kind]


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line


def parse(url: str) -> Target:
    """The parts of a webhook URL, or :class:`UnsafeDestination` saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeDestination(_("This is not a valid URL.")) from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination(_("Enter a full URL starting with https://."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination(_("Credentials in the URL are not supported; put a token in "
                                  "the path or query, or check the signature instead."))
    host = parts.hostname.rstrip(".")
    if parts.scheme == "http" and host not in settings.SARUNA_WEBHOOKS_HTTP_HOSTS:
        raise UnsafeDestination(_("Use https:// (plain http is allowed only for the hosts "
                                  "this installation lists)."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url=url.strip(), scheme=parts.scheme, host=host,
                  port=port or (443 if parts.scheme == "https" else 80), path=path)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to; one forbidden address refuses the whole name."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeDestination(
            _("%(host)s cannot be resolved.") % {"host": host}) from error
    addresses = list(dict.fromkeys(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos
    ))
    for address in addresses:
        reason = refusal(address)
        if reason:
            raise UnsafeDestination(_("%(host)s is %(reason)s (%(address)s).") % {
                "host": host, "reason": reason, "address": address})
    return addresses


def check(url: str) -> Target:
    """A URL safe to save: its form, and the addresses its host resolves to now. A name that
    does not resolve yet is accepted (each delivery checks again)."""
    target = parse(url)
    try:
        resolve(target.host, target.port)
    except UnsafeDestination as error:
        if not isinstance(error.__cause__, socket.gaierror | UnicodeError):
            raise
    return target


@dataclass(frozen=True)
class Response:
    status: int
    excerpt: str
    url: str  # where the answer finally came from, after redirects


def post(url: str, body: bytes, headers: Mapping[str, str]) -> Response:
    """POST ``body`` to ``url``, following at most ``MAX_REDIRECTS`` redirects (the same
    signed request goes to the new location), each destination checked before it is
    connected to. Raises :class:`UnsafeDestination` or ``OSError``/``HTTPException``."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    target = parse(url)
    for _hop in range(MAX_REDIRECTS + 1):
        status, location, excerpt = _post_once(target, body, headers, deadline)
        if status not in REDIRECT_STATUSES or not location:
            return Response(status=status, excerpt=excerpt, url=target.url)
        target = parse(urljoin(target.url, location))
    raise UnsafeDestination(_("More than %(count)s redirects.") % {"count": MAX_REDIRECTS})


def _post_once(
    target: Target, body: bytes, headers: Mapping[str, str], deadline: float
) -> tuple[int, str, str]:
    addresses = resolve(target.host, target.port)
    connection = _connect(target, addresses, deadline)
    try:
        connection.request("POST", target.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", errors="replace")
        return response.status, response.getheader("Location") or "", excerpt
    finally:
        connection.close()


def _connect(
    target: Target, addresses: list[IPAddress], deadline: float
) -> http.client.HTTPConnection:
    """A connection to the first of the checked ``addresses`` that answers."""
    error: OSError | None = None
    for address in addresses:
        timeout = max(deadline - time.monotonic(), 0.1)
        connection = _connection(target, address, timeout)
        try:
            connection.connect()
        except OSError as failure:
            error = failure
            continue
        return connection
    assert error is not None  # resolve() never answers an empty list
    raise error


def _connection(
    target: Target, address: IPAddress, timeout: float
) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    # The socket goes to the checked address; Host and the certificate check keep the name.
    def pinned(_host_port: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection((str(address), target.port), timeout, source_address)

    connection._create_connection = pinned  # type: ignore[attr-defined]
    return connection
