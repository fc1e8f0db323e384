"""Coarse geolocation from the offline DB-IP file."""

import logging

import pytest

from saruna.core import geo


@pytest.mark.parametrize(
    ("ip", "country"),
    [("8.8.8.8", "US"), ("81.198.0.1", "LV"), ("212.58.244.1", "GB"),
     ("2001:4860:4860::8888", "CA")],
)
def test_public_address_resolves_to_its_country(ip, country):
    place = geo.locate(ip)
    assert place is not None and place.country == country
    assert place.city and place.latitude is not None and place.longitude is not None


def test_place_reads_as_city_and_country():
    assert str(geo.locate("81.198.0.1")).endswith(", LV")


@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "192.168.1.1", "127.0.0.1", "::1", "fd00::1", "203.0.113.5", "nonsense", "", None],
)
def test_private_loopback_and_invalid_addresses_have_no_place(ip):
    assert geo.locate(ip) is None


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4():
    place = geo.locate("::ffff:8.8.8.8")
    assert place is not None and place.country == "US"


def test_missing_database_means_no_place_and_one_warning(settings, tmp_path, caplog):
    settings.SARUNA_GEOIP_DB = str(tmp_path / "missing.mmdb")
    with caplog.at_level(logging.WARNING, logger="saruna.core.geo"):
        assert geo.locate("8.8.8.8") is None
        assert geo.locate("1.1.1.1") is None
    assert len([r for r in caplog.records if "Geolocation is off" in r.message]) == 1
