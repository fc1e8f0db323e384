"""``saruna reindex [--account SLUG]``: rebuild the search index of one account or of all."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_scopes import scope

from saruna.core.models import Account
from saruna.search.index import rebuild


class Command(BaseCommand):
    help = "Rebuild the full-text search index of ticket and contact documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", metavar="SLUG", help="Only this account.")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = Account.objects.order_by("slug")
        if options["account"]:
            accounts = accounts.filter(slug=options["account"])
            if not accounts.exists():
                raise CommandError(f"No account {options['account']!r}.")
        for account in accounts:
            # One transaction per account: searches see the old index until the new is whole.
            with scope(account=account), transaction.atomic():
                tickets, contacts = rebuild(account)
            self.stdout.write(f"{account.slug}: {tickets} tickets, {contacts} contacts")
