"""``saruna mail parse FILE``: print what the parser reads in a raw mail, as one JSON object
(``-`` reads standard input). ``saruna mail replay ID``: run a stored inbound mail through
processing again, such as one on the dead-letter list after a fix. ``saruna mail import
--account SLUG [--mailbox ID] [FILE]``: store a raw mail as received (an MTA's pipe
transport), then process it like any other. Its exit status follows sysexits.h, which an
MTA's pipe transport reads: 75 (try again later) when the mail could not be stored, so the
MTA keeps it and retries; 67, 65 or 66 when retrying cannot help, so it bounces.
"""

import json
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django_scopes import scope

from saruna.core.tenancy import account_for_slug
from saruna.mail.models import InboundMail, Mailbox
from saruna.mail.parser import parse
from saruna.mail.receive import MailTooLarge, store_inbound


class Command(BaseCommand):
    help = "Parse a raw mail file, replay a stored inbound mail, or import a raw mail."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        parse_command = commands.add_parser("parse", help="Print a mail file parsed, as JSON.")
        parse_command.add_argument("file", help="a raw mail (.eml), or - for standard input")
        replay_command = commands.add_parser("replay", help="Process an inbound mail again.")
        replay_command.add_argument("id", type=int, help="the inbound mail's id")
        import_command = commands.add_parser("import", help="Store and process a raw mail.")
        import_command.add_argument("--account", required=True, help="the account's slug")
        import_command.add_argument("--mailbox", default="",
                                    help="the mailbox's id (its department gets the ticket)")
        import_command.add_argument("file", nargs="?", default="-",
                                    help="a raw mail (.eml), or - for standard input (default)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "parse":
            parsed = parse(self._read(options["file"])).as_json()
            self.stdout.write(json.dumps(parsed, ensure_ascii=False, indent=2, sort_keys=True))
        elif options["command"] == "import":
            try:
                self._import(options["account"], options["mailbox"], options["file"])
            except DatabaseError as error:
                raise CommandError(f"The mail could not be stored ({error}); try again later.",
                                   returncode=os.EX_TEMPFAIL) from error
        else:
            # The ingest pipeline (models, tickets) loads only when it is needed.
            from saruna.mail.ingest import replay

            self.stdout.write(replay(options["id"]))

    def _read(self, path: str) -> bytes:
        try:
            if path == "-":
                return sys.stdin.buffer.read()
            with open(path, "rb") as file:
                return file.read()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}",
                               returncode=os.EX_NOINPUT) from error

    def _import(self, slug: str, mailbox_id: str, path: str) -> None:
        account = account_for_slug(slug)
        if account is None or account.status == account.Status.CLOSED:
            raise CommandError(f"There is no account “{slug}”.", returncode=os.EX_NOUSER)
        with scope(account=account):
            mailbox = None
            if mailbox_id:
                mailbox = Mailbox.objects.filter(public_id=mailbox_id, is_active=True).first()
                if mailbox is None:
                    raise CommandError(f"The account “{slug}” has no active mailbox "
                                       f"“{mailbox_id}”.", returncode=os.EX_NOUSER)
            raw = self._read(path)
            if not raw:
                raise CommandError("The mail is empty.", returncode=os.EX_DATAERR)
            try:
                mail = store_inbound(account, raw, source=InboundMail.Source.API,
                                     mailbox=mailbox)
            except MailTooLarge as error:
                raise CommandError(
                    f"The mail has {len(raw)} bytes, more than SARUNA_MAIL_MAX_BYTES "
                    f"({settings.SARUNA_MAIL_MAX_BYTES}) allows; nothing was stored.",
                    returncode=os.EX_DATAERR,
                ) from error
        self.stdout.write(str(mail.pk))
