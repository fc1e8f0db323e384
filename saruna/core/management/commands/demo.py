"""``saruna demo``: what a newcomer needs to try Saruna at once (run by ``make run``).

Idempotent: makes the default plans, the provider's own account and the ``demo`` account
when they are missing. A password is printed only when its owner is created, never again.
"""

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.accounts.signup import create_account, ensure_default_plans
from saruna.core.models import Account
from saruna.core.urls import public_url
from saruna.tickets.membership import join_default_department

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the default plans, the provider account and the demo account if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        with scopes_disabled(), transaction.atomic():
            ensure_default_plans()
        provider = settings.SARUNA_PROVIDER_ACCOUNT_SLUG
        self._ensure(provider, "Saruna", f"admin@{provider}.example", "Provider Admin",
                     is_provider=True)
        self._ensure(DEMO_SLUG, "Demo", "owner@demo.example", "Demo Owner")

    def _ensure(
        self, slug: str, name: str, email: str, full_name: str, *, is_provider: bool = False
    ) -> None:
        account = Account.objects.filter(slug=slug).first()
        login_url = public_url(f"{slug}.{settings.SARUNA_BASE_DOMAIN}", "/login/")
        password = secrets.token_urlsafe(12)
        if account is None:
            new = create_account(
                company=name, full_name=full_name, email=email, password=password,
                slug=slug, verified=True, is_provider=is_provider, allow_reserved=is_provider,
            )
            self._print_login(new.account, email, password, login_url)
            return
        with scope(account=account):
            has_owner = User.objects.filter(role=User.Role.OWNER).exists()
            if not has_owner:
                # The account was made without one (e.g. in the admin): give it one.
                owner = User.objects.create_user(
                    email, password, account=account, role=User.Role.OWNER,
                    full_name=full_name, adult_confirmed_at=timezone.now(),
                )
                join_default_department(owner)
        if is_provider and not account.is_provider:
            Account.objects.filter(pk=account.pk).update(is_provider=True)
        if has_owner:
            self.stdout.write(f"Account {slug!r} exists: {login_url}")
        else:
            self._print_login(account, email, password, login_url)

    def _print_login(self, account: Account, email: str, password: str, login_url: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"Created account {account.name!r}."))
        self.stdout.write(f"  Log in at {login_url}")
        self.stdout.write(f"  as {email} with the password {password}")
        self.stdout.write("  (shown only this once: write it down)")
