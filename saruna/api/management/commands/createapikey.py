"""``saruna createapikey --account SLUG [--name N] [--read-only]``: an API key made by the
operator. The key is printed once, alone on the last line, so a script can take it with
``tail -n 1``; only its hash is stored."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from saruna.api.actions import create_api_key
from saruna.contacts.common import ActionError
from saruna.core.tenancy import account_for_slug


class Command(BaseCommand):
    help = "Create an API key for an account and print it (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="The account's slug (subdomain).")
        parser.add_argument("--name", default="", help="What uses the key.")
        parser.add_argument("--read-only", action="store_true",
                            help="Only the reading privileges (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_for_slug(options["account"])
        if account is None:
            raise CommandError(f"No account {options['account']!r}.")
        with scope(account=account):
            try:
                key, secret = create_api_key(
                    account, name=options["name"], read_only=options["read_only"])
            except ActionError as error:
                raise CommandError(error.message) from None
        access = "read-only" if options["read_only"] else "full"
        acting = f" acting as {key.user.email}" if key.user else ""
        self.stdout.write(
            f"Created {access} API key {key.name!r} (id {key.pk}) for {account.url}{acting}.\n"
            "Copy it now; it is not shown again:"
        )
        self.stdout.write(secret)
