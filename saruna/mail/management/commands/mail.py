"""``saruna mail parse FILE``: print what the parser reads in a raw mail, as one JSON object
(``-`` reads standard input). ``saruna mail replay ID``: run a stored inbound mail through
processing again, such as one on the dead-letter list after a fix.
"""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saruna.mail.parser import parse


class Command(BaseCommand):
    help = "Parse a raw mail file, or replay a stored inbound mail."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        parse_command = commands.add_parser("parse", help="Print a mail file parsed, as JSON.")
        parse_command.add_argument("file", help="a raw mail (.eml), or - for standard input")
        replay_command = commands.add_parser("replay", help="Process an inbound mail again.")
        replay_command.add_argument("id", type=int, help="the inbound mail's id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "parse":
            self._parse(options["file"])
        else:
            # The ingest pipeline (models, tickets) loads only when it is needed.
            from saruna.mail.ingest import replay

            self.stdout.write(replay(options["id"]))

    def _parse(self, path: str) -> None:
        try:
            if path == "-":
                raw = sys.stdin.buffer.read()
            else:
                with open(path, "rb") as file:
                    raw = file.read()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        parsed = parse(raw).as_json()
        self.stdout.write(json.dumps(parsed, ensure_ascii=False, indent=2, sort_keys=True))
