"""``saruna geoip_update FILE``: installs a newer geolocation database (MaxMind format, such
as DB-IP's monthly "IP to City Lite" download) after checking that it reads."""

import os
import shutil
from pathlib import Path
from typing import Any

import maxminddb
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from saruna.core import geo

PROBE = "8.8.8.8"


class Command(BaseCommand):
    help = "Check a MaxMind-format geolocation file and install it for visitor locations."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["file"]
        try:
            with maxminddb.open_database(str(source)) as reader:
                record = reader.get(PROBE)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
            raise CommandError(
                f"{source} is not a readable geolocation database: {error}") from error
        if not isinstance(record, dict) or not record.get("country"):
            raise CommandError(f"{source} does not locate {PROBE}: not a city or country database")
        target = Path(settings.SARUNA_GEOIP_DB or settings.VAR_DIR / "geoip" / "city.mmdb")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # readers never see half a file
        geo._reader.cache_clear()
        self.stdout.write(f"Installed {source} as {target}.")
        if not settings.SARUNA_GEOIP_DB:
            self.stdout.write(f"Set SARUNA_GEOIP_DB={target} and restart to use it.")
