"""Small builders for test data. They work outside any scope."""

from django.utils import timezone
from django_scopes import scopes_disabled

from saruna.accounts.models import User
from saruna.core.models import Account, Plan

PASSWORD = "correct horse battery staple"


def default_plan() -> Plan:
    plan, _ = Plan.objects.get_or_create(code="test", defaults={"name": "Test", "max_agents": 5})
    return plan


def make_account(slug: str, *, status: str = Account.Status.ACTIVE, **fields) -> Account:
    with scopes_disabled():
        return Account.objects.create(
            slug=slug,
            name=fields.pop("name", slug.title()),
            status=status,
            plan=fields.pop("plan", None) or default_plan(),
            verified_at=timezone.now() if status == Account.Status.ACTIVE else None,
            **fields,
        )


def make_user(account: Account | None, email: str, *, role: str = "agent", **fields) -> User:
    with scopes_disabled():
        if account is None:
            return User.objects.create_superuser(email, PASSWORD, **fields)
        return User.objects.create_user(
            email, PASSWORD, account=account, role=role,
            full_name=fields.pop("full_name", email.split("@")[0].title()), **fields,
        )
