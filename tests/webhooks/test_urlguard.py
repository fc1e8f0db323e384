"""The SSRF guard: which addresses a webhook may reach, checked after DNS resolution, on
every redirect, and with the connection pinned to the checked address."""

from __future__ import annotations

import socket

import pytest

from saruna.webhooks import urlguard
from saruna.webhooks.urlguard import UnsafeDestination

# (address, its class); none of them may be reached by default.
FORBIDDEN = [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.254", "private"),
    ("192.168.1.1", "private"), ("100.64.0.1", "private"),
    ("fd12:3456::1", "unique-local"), ("fc00::1", "unique-local"),
    ("169.254.169.254", "metadata"), ("169.254.170.2", "metadata"),
    ("fd00:ec2::254", "metadata"), ("100.100.100.200", "metadata"),
    ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("192.0.2.7", "reserved"),
    ("198.18.0.1", "reserved"), ("2001:db8::1", "reserved"), ("0.1.2.3", "reserved"),
    # IPv4 written as IPv6 is judged as IPv4.
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "metadata"),
]
PUBLIC = ["93.184.215.14", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"]


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Names resolve to the given addresses (others as usual); answers the names looked up."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        if host in answers:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port)) for a in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


@pytest.mark.parametrize(("address", "kind"), FORBIDDEN)
def test_each_non_public_address_class_is_refused(address, kind, settings):
    import ipaddress

    assert urlguard.address_class(ipaddress.ip_address(address)) == kind
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeDestination, match="is a"):
        urlguard.check(f"https://{host}/hook")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    host = f"[{address}]" if ":" in address else address
    assert urlguard.check(f"https://{host}/hook").host == address


@pytest.mark.parametrize(("address", "kind"), FORBIDDEN)
def test_on_premise_setting_opens_only_private_ranges(address, kind, settings):
    settings.SARUNA_WEBHOOKS_ALLOW_PRIVATE = True
    host = f"[{address}]" if ":" in address else address
    if kind in ("loopback", "private", "unique-local"):
        urlguard.check(f"https://{host}/hook")
    else:  # metadata, link-local, multicast, reserved stay closed
        with pytest.raises(UnsafeDestination):
            urlguard.check(f"https://{host}/hook")


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"intranet.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(UnsafeDestination) as refused:
        urlguard.check("https://intranet.example.com/hook")
    assert refused.value.message == (
        "intranet.example.com is a private network address (10.0.0.7).")


def test_localhost_is_refused_by_name():
    with pytest.raises(UnsafeDestination, match="loopback"):
        urlguard.check("https://localhost/hook")


def test_metadata_host_name_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"metadata.google.internal": ["169.254.169.254"]})
    with pytest.raises(UnsafeDestination, match="cloud metadata"):
        urlguard.check("https://metadata.google.internal/computeMetadata/v1/")


def test_a_name_not_resolving_yet_may_be_saved_but_not_sent():
    assert urlguard.check("https://hooks.invalid/x").host == "hooks.invalid"
    with pytest.raises(UnsafeDestination, match="cannot be resolved"):
        urlguard.post("https://hooks.invalid/x", b"{}", {})


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com/x", "starting with https://"),
    ("example.com/x", "starting with https://"),
    ("http://example.com/x", "Use https://"),
    ("https://user:pw@example.com/x", "Credentials"),
    ("https://example.com:99999/x", "not a valid URL"),
])
def test_malformed_or_plain_http_urls_are_refused(url, message):
    with pytest.raises(UnsafeDestination, match=message):
        urlguard.parse(url)


def test_listed_hosts_may_use_plain_http(settings):
    settings.SARUNA_WEBHOOKS_HTTP_HOSTS = ["hooks.lan"]
    assert urlguard.parse("http://hooks.lan:8080/in?x=1").path == "/in?x=1"


def test_a_redirect_to_a_metadata_address_is_not_followed(receiver, on_premise):
    receiver.answer(307, Location="https://169.254.169.254/latest/meta-data/")
    with pytest.raises(UnsafeDestination, match="cloud metadata"):
        urlguard.post(receiver.url(), b"{}", {})
    assert len(receiver.requests) == 1


def treat_127_0_0_1_as_public(monkeypatch):
    """The receiver stands in for a public server while private ranges stay closed."""
    real = urlguard.address_class
    monkeypatch.setattr(urlguard, "address_class",
                        lambda address: None if str(address) == "127.0.0.1" else real(address))


def test_redirects_to_private_addresses_and_names_are_refused(receiver, settings, monkeypatch):
    settings.SARUNA_WEBHOOKS_HTTP_HOSTS = ["127.0.0.1", "internal.example.com", "10.1.1.1"]
    treat_127_0_0_1_as_public(monkeypatch)
    fake_dns(monkeypatch, {"internal.example.com": ["192.168.0.10"]})
    for location in ("http://10.1.1.1/admin", "http://internal.example.com/admin",
                     f"http://127.0.0.2:{receiver.port}/x"):
        receiver.answer(302, Location=location)
        with pytest.raises(UnsafeDestination):
            urlguard.post(receiver.url(), b"{}", {})
    assert len(receiver.requests) == 3  # only the first hop of each was ever connected to


def test_allowed_redirects_are_followed_with_the_same_request(receiver, on_premise):
    receiver.answer(308, Location="/moved")
    response = urlguard.post(receiver.url(), b'{"a":1}', {"X-Test": "1"})
    assert response.status == 200 and response.url == receiver.url("/moved")
    assert [(r.path, r.body, r.headers["X-Test"]) for r in receiver.requests] == [
        ("/hook", b'{"a":1}', "1"), ("/moved", b'{"a":1}', "1")]


def test_redirect_loops_end(receiver, on_premise):
    for _hop in range(urlguard.MAX_REDIRECTS + 1):
        receiver.answer(302, Location="/again")
    with pytest.raises(UnsafeDestination, match="redirects"):
        urlguard.post(receiver.url(), b"{}", {})
    assert len(receiver.requests) == urlguard.MAX_REDIRECTS + 1


def test_connection_goes_to_the_checked_address_not_a_second_lookup(
    receiver, settings, monkeypatch
):
    """DNS rebinding: the name answers a harmless address when checked and a private one
    afterwards. The guard resolves once per hop and connects to what it checked, with the
    name in the Host header."""
    settings.SARUNA_WEBHOOKS_HTTP_HOSTS = ["rebind.example.com"]
    treat_127_0_0_1_as_public(monkeypatch)
    answers = {"rebind.example.com": ["127.0.0.1"]}
    looked_up = fake_dns(monkeypatch, answers)
    real_connect = socket.create_connection
    connected: list[tuple[str, int]] = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        answers["rebind.example.com"] = ["10.0.0.1"]  # rebinding after the check
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    response = urlguard.post(f"http://rebind.example.com:{receiver.port}/hook", b"{}", {})
    assert response.status == 200
    assert looked_up.count("rebind.example.com") == 1  # (the socket looks up the literal)
    assert connected == [("127.0.0.1", receiver.port)]
    assert receiver.requests[0].headers["Host"] == f"rebind.example.com:{receiver.port}"
