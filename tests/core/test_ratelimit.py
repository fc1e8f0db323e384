import pytest
import time_machine
from django.test import RequestFactory

from saruna.core import ratelimit


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
        clock.shift(2 * 15 * 60)
        assert ratelimit.hit("k", "2/15m")


def test_a_burst_across_a_windows_edge_is_counted_whole():
    with time_machine.travel("2026-01-01 10:00:59.9", tick=False) as clock:
        assert ratelimit.hit("k", "2/m") and ratelimit.hit("k", "2/m")
        clock.shift(0.2)
        assert not ratelimit.hit("k", "2/m")
        assert ratelimit.exhausted("k", "2/m")


def test_the_previous_windows_count_fades_as_it_leaves_the_last_period():
    with time_machine.travel("2026-01-01 10:00:00", tick=False) as clock:
        for _ in range(4):
            ratelimit.hit("k", "4/m")
        clock.shift(60 + 45)  # three quarters of the previous minute are out of reach
        assert ratelimit.hit("k", "4/m") and ratelimit.hit("k", "4/m")
        assert ratelimit.hit("k", "4/m")
        assert not ratelimit.hit("k", "4/m")


def test_reset_forgets_both_windows():
    with time_machine.travel("2026-01-01 10:00:59", tick=False) as clock:
        ratelimit.hit("k", "1/m")
        clock.shift(2)
        ratelimit.hit("k", "1/m")
        ratelimit.reset("k", "1/m")
        assert ratelimit.hit("k", "1/m")


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
