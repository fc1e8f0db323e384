"""Support access screens: the provider's form and list on the base domain, entering and
leaving on the account's host. The writes live in :mod:`saruna.accounts.support`."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import user_passes_test
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from saruna.accounts.models import SupportGrant
from saruna.accounts.support import (
    MIN_REASON_LENGTH,
    SupportAccessError,
    end_support_access,
    enter_support_access,
    entry_url,
    grant_support_access,
)
from saruna.core.models import Account
from saruna.core.urls import base_url

DURATION_CHOICES = [
    (15, _("15 minutes")),
    (30, _("30 minutes")),
    (60, _("1 hour")),
    (120, _("2 hours")),
    (240, _("4 hours")),
    (480, _("8 hours")),
]

provider_staff_required = user_passes_test(
    lambda user: user.is_active and user.is_staff and user.account_id is None,
    login_url="admin:login",
)


class SupportAccessForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.exclude(status=Account.Status.CLOSED),
        to_field_name="slug",
    )
    reason = forms.CharField(
        label=_("Reason"),
        min_length=MIN_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The customer sees this reason in their audit log."),
    )
    minutes = forms.TypedChoiceField(
        label=_("Duration"), choices=DURATION_CHOICES, coerce=int, initial=60
    )


@provider_staff_required
@require_http_methods(["GET", "POST"])
def provider_support(request: HttpRequest) -> HttpResponse:
    form = SupportAccessForm(
        request.POST or None, initial={"account": request.GET.get("account", "")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            grant = grant_support_access(
                request.user,  # type: ignore[arg-type]
                form.cleaned_data["account"],
                reason=form.cleaned_data["reason"],
                duration=timedelta(minutes=form.cleaned_data["minutes"]),
                request=request,
            )
        except SupportAccessError as error:
            form.add_error(None, str(error))
        else:
            return redirect(entry_url(grant))
    # The provider's record of its own access to every account: the list shows which staff
    # member opened which account, why and until when, and nothing of the accounts' data.
    with scopes_disabled():
        grants = list(SupportGrant.objects.select_related("account", "staff")[:50])
    return render(
        request, "accounts/support_provider.html", {"form": form, "grants": grants}
    )


@provider_staff_required
@require_POST
def provider_reenter(request: HttpRequest, pk: int) -> HttpResponse:
    """A new entry link for one's own grant that is still running (e.g. after closing the tab)."""
    # Looked up across accounts from the base domain, limited to the requester's own grants.
    with scopes_disabled():
        grant = (
            SupportGrant.objects.select_related("account")
            .filter(pk=pk, staff=request.user)
            .first()
        )
    if grant is None or not grant.is_active:
        raise Http404
    return redirect(entry_url(grant))


@require_GET
def enter(request: HttpRequest, token: str) -> HttpResponse:
    try:
        enter_support_access(request, token)
    except SupportAccessError as error:
        return render(
            request, "accounts/support_denied.html", {"message": str(error)}, status=403
        )
    return redirect("dashboard")


@require_http_methods(["GET", "POST"])
def leave(request: HttpRequest) -> HttpResponse:
    grant = getattr(request, "support_grant", None)
    if grant is None:
        raise Http404
    if request.method == "POST":
        end_support_access(grant, request=request)
        request.session.flush()
        return redirect(base_url("/provider/support/"))
    return render(request, "accounts/support_leave.html", {"grant": grant})
