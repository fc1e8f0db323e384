"""``saruna billing simulate SCENARIO.json``: run a billing scenario on a throw-away database
and print what happened as JSON; ``saruna billing rates FILE``: load the ECB's euro reference
rates from a eurofxref XML file (docs/billing.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import override_settings
from huey.contrib.djhuey import HUEY

from saruna.billing import fx
from saruna.billing.simulator import ScenarioError, check, simulate


@contextmanager
def throwaway_database() -> Iterator[None]:
    """A new, migrated database that is dropped afterwards (SQLite in memory; on PostgreSQL
    a database named for this process), with mail kept in memory and jobs run in-process,
    so nothing reaches the real database, queue, cache or mailboxes."""
    original_name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = (
            f"saruna_simulation_{os.getpid()}"
        )
    was_immediate = HUEY.immediate
    HUEY.immediate = True
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    ):
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
            HUEY.immediate = was_immediate


class Command(BaseCommand):
    help = ("Billing tools. `simulate SCENARIO.json` runs a scenario on a throw-away database; "
            "`rates FILE` loads ECB exchange rates.")

    def add_arguments(self, parser: CommandParser) -> None:
        tools = parser.add_subparsers(dest="tool", required=True)
        simulate_parser = tools.add_parser(
            "simulate", help="Run a billing scenario and print documents, payments and states."
        )
        simulate_parser.add_argument("scenario", type=Path, help="The scenario (JSON).")
        rates_parser = tools.add_parser(
            "rates", help="Load the ECB's euro reference rates from a eurofxref XML file."
        )
        rates_parser.add_argument("file", type=Path, help="eurofxref-daily.xml or -hist*.xml")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tool"] == "rates":
            self._load_rates(options["file"])
        else:
            self._simulate(options["scenario"])

    def _load_rates(self, path: Path) -> None:
        try:
            count = fx.load_ecb_xml(path.read_bytes())
        except (OSError, fx.RatesFileError) as error:
            raise CommandError(f"Cannot load {path}: {error}") from None
        self.stdout.write(f"{count} rates loaded from {path}.")

    def _simulate(self, path: Path) -> None:
        try:
            scenario = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from None
        if not isinstance(scenario, dict):
            raise CommandError(f"{path}: the scenario is a JSON object")
        try:
            check(scenario)
            with throwaway_database():
                result = simulate(scenario)
        except ScenarioError as error:
            raise CommandError(f"{path}: {error}") from None
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
