"""The widget's tracking endpoints (any origin, no cookies) and the agents' "Online visitors"
screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from saruna.accounts.decorators import manager_required
from saruna.contacts.common import ActionError
from saruna.core.net import allow_any_origin, client_ip
from saruna.visitors import actions, tracking
from saruna.visitors.config import tracking_settings
from saruna.visitors.forms import InvitationRuleForm, TrackingSettingsForm
from saruna.visitors.identity import verify_identity, visitor_for_token
from saruna.visitors.models import Invitation, InvitationRule, TrackingSettings, Visitor

STATUS = {"invalid": 400, "not_found": 404, "conflict": 409, "too_large": 413}
MAX_BODY = 16 * 1024
STATIC_DIR = Path(__file__).resolve().parent / "static" / "saruna" / "widget"


def _error(message: str, code: str = "invalid") -> HttpResponse:
    return allow_any_origin(JsonResponse({"message": message}, status=STATUS.get(code, 400)))


def widget_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A JSON POST from the widget: ``text/plain`` bodies accepted (sendBeacon, no CORS
    preflight), the preflight answered, errors as ``{"message"}`` with CORS headers."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            return allow_any_origin(HttpResponse(status=204))
        if request.method != "POST":
            return allow_any_origin(JsonResponse({"message": _("Use POST.")}, status=405))
        if len(request.body) > MAX_BODY:
            return _error(_("The request is too large."), "too_large")
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return _error(_("The body must be JSON."))
        if not isinstance(payload, dict):
            return _error(_("The body must be a JSON object."))
        token = request.headers.get("X-Saruna-Visitor")
        if token and "token" not in payload:
            payload["token"] = token
        try:
            return allow_any_origin(view(request, payload, *args, **kwargs))
        except ActionError as error:
            return _error(error.message, error.code)

    return wrapper


@widget_endpoint
def track(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    answer = tracking.answer_beat(
        request.account, payload, ip=client_ip(request),  # type: ignore[attr-defined]
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        declined=tracking.declines_tracking(request.META),  # type: ignore[arg-type]
    )
    return HttpResponse(status=204) if answer is None else JsonResponse(answer)


def _visitor(request: HttpRequest, payload: dict[str, Any]) -> Visitor:
    visitor = visitor_for_token(request.account, payload.get("token"), create=False)  # type: ignore[attr-defined]
    if visitor is None:
        raise ActionError(_("Unknown visitor token."), "not_found")
    return visitor


def _may_track(request: HttpRequest, payload: dict[str, Any]) -> bool:
    """Whether the account's consent settings let this request's visitor be tracked."""
    return tracking.may_track(
        tracking_settings(request.account),  # type: ignore[attr-defined]
        tracking.consent_of(payload),
        declined=tracking.declines_tracking(request.META))  # type: ignore[arg-type]


@widget_endpoint
def conversion(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    if not _may_track(request, payload):
        return HttpResponse(status=204)
    visitor = visitor_for_token(account, payload.get("token"))
    if visitor is None:
        raise ActionError(_("Unknown visitor token."))
    record, _created = actions.record_conversion(
        account, visitor=visitor, order_id=payload.get("id"), value=payload.get("value"),
        currency=payload.get("currency") or "",
    )
    return JsonResponse(conversion_payload(record))


@widget_endpoint
def identify(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    """``saruna('identify', …)`` reaching the tracking: the visitor joins the customer's
    contact. Nothing is stored when the visitor may not be tracked."""
    account = request.account  # type: ignore[attr-defined]
    if not _may_track(request, payload):
        return HttpResponse(status=204)
    identity = verify_identity(account, payload.get("identity"))
    if identity is None:
        raise ActionError(_("The identity's signature is not valid for this account."))
    visitor = visitor_for_token(account, payload.get("token"))
    if visitor is None:
        raise ActionError(_("Unknown visitor token."))
    actions.identify_visitor(account, visitor, identity)
    return HttpResponse(status=204)


def conversion_payload(record: Any) -> dict[str, Any]:
    """The attribution the tracking module passes on to Google Analytics."""
    return {
        "id": record.order_id, "value": record.value_minor / 100, "currency": record.currency,
        "chat": record.chat_public_id, "agent": record.agent.full_name if record.agent else "",
        "department": record.department_public_id,
    }


@widget_endpoint
def _decline(request: HttpRequest, payload: dict[str, Any], invitation_id: str) -> HttpResponse:
    actions.decline_invitation(request.account, _visitor(request, payload), invitation_id)  # type: ignore[attr-defined]
    return HttpResponse(status=204)


@csrf_exempt
def decline(request: HttpRequest, invitation_id: str) -> HttpResponse:
    """An unknown invitation is 404 before any complaint about the body."""
    if request.method == "POST" and not Invitation.objects.filter(
            public_id=invitation_id).exists():
        return _error(_("Unknown invitation."), "not_found")
    return _decline(request, invitation_id)


@lru_cache(maxsize=1)
def _track_js() -> bytes:
    return (STATIC_DIR / "track.js").read_bytes()


def track_script(request: HttpRequest) -> HttpResponse:
    """The tracking module at its fixed address (the loader asks for ``/widget/track.js``)."""
    response = HttpResponse(_track_js(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- the agents' screen ------------------------------------------------------------------------

@login_required
def online_visitors(request: HttpRequest) -> HttpResponse:
    """The screen; its list and map arrive over the WebSocket (``consumers``)."""
    return render(request, "visitors/online.html")


@login_required
@require_POST
def invite(request: HttpRequest, visitor_id: str) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    try:
        invitation = actions.invite_visitor(
            account, visitor_id, agent=request.user,  # type: ignore[arg-type]
            text=request.POST.get("text") or _("Hello! Can I help you?"),
        )
    except ActionError as error:
        return JsonResponse({"message": error.message}, status=STATUS.get(error.code, 400))
    return JsonResponse({"invitation": invitation.public_id})


@login_required
def world_outline(request: HttpRequest) -> HttpResponse:
    """Natural Earth land outline (TopoJSON, from the world-atlas npm package installed with
    ``make``); 404 when it is not installed, and the map draws the dots on a plain sea."""
    path = Path(settings.SARUNA_WORLD_ATLAS_DIR) / "land-110m.json"
    if not path.is_file():
        raise Http404("world outline not installed")
    response = HttpResponse(path.read_bytes(), content_type="application/json")
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- Settings → Visitors -------------------------------------------------------------------------

@manager_required
def visitor_settings(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    current = tracking_settings(account)
    settings_form = TrackingSettingsForm(instance=current)
    rule_form = InvitationRuleForm()
    if request.method == "POST" and "save_settings" in request.POST:
        settings_form = TrackingSettingsForm(request.POST, instance=TrackingSettings(
            pk=current.pk, account=account))
        if settings_form.is_valid():
            actions.save_tracking_settings(account, settings_form.cleaned_data,
                                           actor=request.user)  # type: ignore[arg-type]
            messages.success(request, _("Saved."))
            return redirect("visitor_settings")
    elif request.method == "POST" and "add_rule" in request.POST:
        rule_form = InvitationRuleForm(request.POST)
        if rule_form.is_valid():
            try:
                actions.save_invitation_rule(account, None, rule_form.cleaned_data,
                                             actor=request.user)  # type: ignore[arg-type]
            except ActionError as error:
                rule_form.add_error(None, error.message)
            else:
                messages.success(request, _("Rule added."))
                return redirect("visitor_settings")
    return render(request, "visitors/settings.html", {
        "settings_form": settings_form, "rule_form": rule_form,
        "rules": InvitationRule.objects.all(),
    })


@manager_required
@require_POST
def delete_rule(request: HttpRequest, rule_id: str) -> HttpResponse:
    rule = get_object_or_404(InvitationRule, public_id=rule_id)
    actions.delete_invitation_rule(rule, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Rule deleted."))
    return redirect("visitor_settings")
