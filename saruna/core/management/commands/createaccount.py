"""``saruna createaccount``: an account made by the operator, active at once."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from saruna.accounts.signup import SignupError, create_account


class Command(BaseCommand):
    help = "Create an account with its owner (already confirmed) and print its URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, help="Company or organisation name.")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-name", required=True, help="The owner's full name.")
        parser.add_argument("--password", required=True, help="The owner's password.")
        parser.add_argument(
            "--slug", help="The account's subdomain (default: made from the company name)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            validate_email(options["owner_email"])
        except ValidationError:
            raise CommandError(f"Not a valid e-mail address: {options['owner_email']}") from None
        try:
            new = create_account(
                company=options["company"],
                full_name=options["owner_name"],
                email=options["owner_email"],
                password=options["password"],
                slug=options["slug"],
                verified=True,
            )
        except SignupError as error:
            raise CommandError(f"{error.field}: {error.message}") from None
        except ValidationError as error:
            raise CommandError("password: " + " ".join(error.messages)) from None
        self.stdout.write(
            f"Created account {new.account.name!r} with owner {new.owner.email}: "
            f"{new.account.url}"
        )
