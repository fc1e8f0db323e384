"""Django's createsuperuser for provider staff. E-mails are unique among staff only (not
across accounts), so Django's own uniqueness check, which needs a unique field, is redone
here to refuse a duplicate with a message instead of a database error."""

from django.contrib.auth.management.commands import createsuperuser

from saruna.accounts.models import User


class Command(createsuperuser.Command):
    def _validate_username(
        self, username: str, verbose_field_name: str, database: str
    ) -> str | None:
        if User.objects.filter(account=None, email=username.strip().lower()).exists():
            return "Provider staff with that e-mail already exists."
        return super()._validate_username(  # type: ignore[misc] # private in the stubs
            username, verbose_field_name, database
        )
