"""The provider's Django admin on the base domain: accounts, plans and the mail outbox.

Only models the provider owns are registered here. Tenant-owned data (users of accounts,
tickets, contacts, audit events...) never is: staff read an account's data only through a
support grant (terms §2), and a test holds the admin to an allow-list.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from saruna.core import audit
from saruna.core.models import Account, OutboundEmail, Plan
from saruna.core.tasks import deliver_email
from saruna.core.tenancy import enqueue_on_commit

admin.site.site_header = _("Saruna provider admin")
admin.site.site_title = _("Saruna provider admin")
admin.site.index_title = _("Provider administration")


def _set_status(
    request: HttpRequest, accounts: QuerySet[Account], status: str, verb: str
) -> int:
    """Change the status and tell each customer in their audit log that the provider did it."""
    changed = 0
    for account in accounts.exclude(status=status).exclude(status=Account.Status.CLOSED):
        with transaction.atomic(), scope(account=account):
            account.status = status
            account.save(update_fields=["status"])
            audit.record(account, verb, actor=request.user, target=account, request=request)  # type: ignore[arg-type]
        changed += 1
    return changed


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "slug", "name", "status", "plan", "seats", "created_at", "verified_at", "support_access",
    ]
    list_filter = ["status", "plan", "is_provider"]
    search_fields = ["slug", "name"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id", "created_at", "verified_at", "signup_ip", "terms_version", "terms_accepted_at",
        "support_access",
    ]
    fields = [
        "id", "name", "slug", "status", "plan", "max_agents_override", "is_provider",
        "time_zone", "language", "created_at", "verified_at", "terms_version",
        "terms_accepted_at", "signup_ip", "support_access",
    ]
    actions = ["suspend", "reactivate"]

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:
        # The slug is the account's address: renaming it would break every link customers hold.
        return [*self.readonly_fields, "slug"] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        # Deleting would list the account's users and content on the confirmation page, which
        # staff may not read; closing an account (status) is the provider's tool.
        return False

    @admin.display(description=_("seats"))
    def seats(self, account: Account) -> str:
        if account.max_agents_override is not None:
            return gettext("%(seats)s (override)") % {"seats": account.max_agents_override}
        return str(account.plan.max_agents)

    @admin.display(description=_("support access"))
    def support_access(self, account: Account) -> str:
        if account.pk is None:
            return "—"
        url = reverse("provider_support") + "?" + urlencode({"account": account.slug})
        return format_html('<a class="button" href="{}">{}</a>', url, _("Open support access"))

    def save_model(self, request: HttpRequest, obj: Account, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        if change and "max_agents_override" in form.changed_data:
            with scope(account=obj):
                audit.record(
                    obj, "account.seats_changed", actor=request.user, target=obj,  # type: ignore[arg-type]
                    request=request, max_agents_override=obj.max_agents_override,
                )

    @admin.action(description=_("Suspend the selected accounts"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        count = _set_status(request, queryset, Account.Status.SUSPENDED, "account.suspended")
        self.message_user(
            request,
            ngettext("%(count)d account suspended.", "%(count)d accounts suspended.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Reactivate the selected accounts"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        count = _set_status(
            request,
            queryset.filter(status=Account.Status.SUSPENDED),
            Account.Status.ACTIVE,
            "account.reactivated",
        )
        self.message_user(
            request,
            ngettext("%(count)d account reactivated.", "%(count)d accounts reactivated.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "max_agents"]
    search_fields = ["code", "name"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The mail queue as a list; the ``dead`` status filter is the dead-letter list.

    An account's mail is its data: for it only the account, the recipients' domains and the
    delivery facts are shown, never the subject or the body. There is no detail page (its
    title would be the mail's subject and recipients).
    """

    list_display = [
        "id", "shown_subject", "shown_recipients", "account", "status", "attempts",
        "next_attempt_at", "last_error", "created_at",
    ]
    list_display_links = None
    list_filter = ["status", "created_at"]
    list_select_related = ["account"]
    search_fields = ["account__slug"]
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: OutboundEmail | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: OutboundEmail | None = None
    ) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: OutboundEmail | None = None) -> bool:
        return obj is None and super().has_view_permission(request)

    def action_checkbox(self, mail: OutboundEmail) -> SafeString:
        # Django's own checkbox is labelled with str(mail): subject and recipients.
        label = gettext("Select mail %(id)s") % {"id": mail.pk}
        checkbox = forms.CheckboxInput(
            {"class": "action-select", "aria-label": label}, lambda value: False
        )
        return checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(mail.pk))

    @admin.display(description=_("subject"))
    def shown_subject(self, mail: OutboundEmail) -> str:
        return mail.subject if mail.account_id is None else gettext("(account mail)")

    @admin.display(description=_("recipients"))
    def shown_recipients(self, mail: OutboundEmail) -> str:
        if mail.account_id is None:
            return ", ".join(mail.to)
        return ", ".join(sorted({"@" + address.rpartition("@")[2] for address in mail.to}))

    @admin.action(description=_("Retry the selected mail now"), permissions=["view"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        retry = queryset.exclude(status=OutboundEmail.Status.SENT)
        ids = list(retry.values_list("pk", flat=True))
        with transaction.atomic():
            OutboundEmail.objects.filter(pk__in=ids).update(
                status=OutboundEmail.Status.PENDING, next_attempt_at=timezone.now()
            )
            for mail_id in ids:
                enqueue_on_commit(deliver_email, mail_id)
        self.message_user(
            request,
            ngettext(
                "%(count)d mail queued for delivery.", "%(count)d mails queued for delivery.",
                len(ids),
            ) % {"count": len(ids)},
            messages.SUCCESS,
        )
