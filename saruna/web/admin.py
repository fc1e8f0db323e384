"""Provider admin for the public site's records: demo requests to follow up, and consent
given through the cookie notice (evidence, so never edited)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from saruna.web.models import CookieConsent, DemoBooking


@admin.register(DemoBooking)
class DemoBookingAdmin(admin.ModelAdmin):
    list_display = ["created_at", "name", "email", "company", "phone", "time_zone", "ticket_code",
                    "handled"]
    list_filter = ["handled", "created_at"]
    search_fields = ["name", "email", "company", "message"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "ticket_code"]
    actions = ["mark_handled"]

    @admin.action(description=_("Mark selected requests as handled"))
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[DemoBooking]) -> None:
        count = queryset.filter(handled=False).update(handled=True)
        self.message_user(
            request,
            ngettext("%d request marked as handled.", "%d requests marked as handled.", count)
            % count,
            messages.SUCCESS,
        )


@admin.register(CookieConsent)
class CookieConsentAdmin(admin.ModelAdmin):
    list_display = ["given_at", "consent_id", "analytics", "policy_version", "ip_network"]
    list_filter = ["analytics", "policy_version"]
    search_fields = ["consent_id"]
    date_hierarchy = "given_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
