"""Provider admin for people: provider staff, and the provider's view of sharing findings.

Users of accounts are not here; they are the accounts' data (terms §2).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import SharingFinding, User
from saruna.core import audit


class StaffCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class StaffChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Provider staff only: ``account`` is null for every row this admin shows or creates."""

    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ["email", "full_name", "is_active", "is_superuser", "last_login"]
    list_filter = ["is_active", "is_superuser", "groups"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "language", "time_zone")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # Staff have no account; the explicit filter keeps every account's users out whatever
        # scope the base domain runs in.
        with scopes_disabled():
            return super().get_queryset(request).filter(account__isnull=True)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        obj.account = None
        obj.role = User.Role.STAFF
        obj.is_staff = True
        super().save_model(request, obj, form, change)


@admin.register(SharingFinding)
class SharingFindingAdmin(admin.ModelAdmin):
    """Findings exist for the provider as much as for the account's owner (terms §2: the
    provider may charge for shared logins), so staff see them across accounts."""

    list_display = ["detected_at", "account", "user_email", "kind", "status"]
    list_filter = ["status", "kind", "detected_at"]
    list_select_related = ["account", "user"]
    search_fields = ["account__slug", "user__email"]
    readonly_fields = ["account", "user_email", "kind", "status", "detected_at", "evidence"]
    fields = ("account", "user_email", "kind", "status", "detected_at", "evidence")
    actions = ["mark_confirmed", "mark_dismissed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SharingFinding]:
        # The one tenant-owned model the provider reads across accounts (see the class doc).
        with scopes_disabled():
            return super().get_queryset(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: SharingFinding | None = None
    ) -> bool:
        return False

    @admin.display(description=_("user"))
    def user_email(self, finding: SharingFinding) -> str:
        return finding.user.email

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[SharingFinding], status: str
    ) -> None:
        count = 0
        for finding in queryset.exclude(status=status).select_related("account", "user"):
            with transaction.atomic(), scope(account=finding.account):
                finding.status = status
                finding.save(update_fields=["status"])
                audit.record(
                    finding.account, f"sharing_finding.{status}", actor=request.user,  # type: ignore[arg-type]
                    target=finding.user, request=request, finding=finding.pk, kind=finding.kind,
                )
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d finding updated.", "%(count)d findings updated.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Confirm: one login is shared"), permissions=["change"])
    def mark_confirmed(self, request: HttpRequest, queryset: QuerySet[SharingFinding]) -> None:
        self._decide(request, queryset, SharingFinding.Status.CONFIRMED)

    @admin.action(description=_("Dismiss the finding"), permissions=["change"])
    def mark_dismissed(self, request: HttpRequest, queryset: QuerySet[SharingFinding]) -> None:
        self._decide(request, queryset, SharingFinding.Status.DISMISSED)
