import pytest
import time_machine
from django.test import RequestFactory

from saruna.core import ratelimit


@pytest.fixture(autouse=True)
def _mid_window():
    """Fixed windows: a test that ran across a window's edge would see its count reset."""
    with time_machine.travel("2026-03-04 10:30:20Z", tick=False):
        yield


def test_allows_up_to_the_limit_then_refuses():
    assert [ratelimit.hit("k", "3/h") for _ in range(5)] == [True, True, True, False, False]


def test_keys_are_counted_apart():
    assert ratelimit.hit("a", "1/h")
    assert ratelimit.hit("b", "1/h")
    assert not ratelimit.hit("a", "1/h")


def test_window_passes_and_the_limit_resets():
    with time_machine.travel("2026-01-01 10:00:00", tick=False) as clock:
        assert ratelimit.hit("k", "2/15m")
        assert ratelimit.hit("k", "2/15m")
        assert not ratelimit.hit("k", "2/15m")
        clock.shift(15 * 60)
        assert ratelimit.hit("k", "2/15m")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("5/h", (5, 3600)), ("10/m", (10, 60)), ("3/15m", (3, 900)), ("100/d", (100, 86400)),
     (" 2 / s ", (2, 1))],
)
def test_parse(spec, parsed):
    assert ratelimit.parse(spec) == parsed


@pytest.mark.parametrize("spec", ["", "5", "5/x", "h/5", "-1/h"])
def test_bad_spec_is_a_clear_error(spec):
    with pytest.raises(ValueError, match="Bad rate limit"):
        ratelimit.parse(spec)


def test_client_key_groups_an_ipv6_subscriber():
    factory = RequestFactory()
    one = factory.get("/", REMOTE_ADDR="2001:db8:1:2::1")
    two = factory.get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    other = factory.get("/", REMOTE_ADDR="2001:db8:1:3::1")
    assert ratelimit.client_key(one) == ratelimit.client_key(two)
    assert ratelimit.client_key(one) != ratelimit.client_key(other)
    assert ratelimit.client_key(factory.get("/", REMOTE_ADDR="192.0.2.7")) == "192.0.2.7"
