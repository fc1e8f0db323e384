"""Settings → API keys (owners and admins): make a key (its secret is shown once, on the
answer to the form, and stored only hashed), see when each key was last used, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from saruna.accounts.models import User
from saruna.api import actions, privileges
from saruna.api.forms import ApiKeyForm
from saruna.api.models import ApiKey
from saruna.contacts.common import ActionError


def _manager(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.can_manage_account:
        raise PermissionDenied
    return user


def _access(key: ApiKey) -> str:
    held = set(key.privileges)
    if held >= privileges.ALL:
        return _("Full")
    if key.is_read_only:
        return _("Read only")
    return _("%(count)s privileges") % {"count": len(held)}


@login_required
def apikey_list(request: HttpRequest) -> HttpResponse:
    _manager(request)
    # Usable keys first (NULLS FIRST: PostgreSQL would put them last), newest first.
    keys = ApiKey.objects.select_related("user").order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at")
    return render(request, "api/keys.html", {
        "rows": [{"key": key, "access": _access(key)} for key in keys],
    })


@login_required
@require_http_methods(["GET", "POST"])
def apikey_new(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    account = request.account  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST if request.method == "POST" else None,
                      time_zone=user.time_zone or account.time_zone or "UTC")
    if form.is_valid():
        try:
            key, secret = actions.create_api_key(account, created_by=user, **form.action_fields())
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            # The one moment the secret exists in clear: never cache this page.
            response = render(request, "api/key_created.html", {"key": key, "secret": secret})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "api/key_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def apikey_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    user = _manager(request)
    key = get_object_or_404(ApiKey, pk=key_id, revoked_at__isnull=True)
    if request.method == "POST":
        actions.revoke_api_key(key, actor=user)
        messages.success(request, _("The key %(name)s is revoked; it no longer works.")
                         % {"name": key.name})
        return redirect("apikey_list")
    return render(request, "api/key_revoke.html", {"key": key})
