"""The scoped manager every tenant-owned model uses.

django-scopes filters by the active scope's value, but reads ``scope(account=None)`` as
"no filter". For Saruna ``None`` means the provider's own scope (the base domain), which
must see only rows without an account (provider staff) and never a tenant's rows.
"""

from typing import Any

from django.db import models
from django_scopes import ScopedManager
from django_scopes.state import get_scope


def AccountScopedManager(manager_class: type[models.Manager] = models.Manager) -> Any:
    scoped_class = type(ScopedManager(manager_class, account="account"))

    class Manager(scoped_class):  # type: ignore[valid-type,misc]
        scoped_by_account = True

        def get_queryset(self) -> Any:
            queryset = super().get_queryset()
            current = getattr(self, "_override_scope", None) or get_scope()
            provider_scope = "account" in current and current["account"] is None
            if current.get("_enabled", True) and provider_scope:
                queryset = queryset.filter(account__isnull=True)
            return queryset

    return Manager()
