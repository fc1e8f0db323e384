"""The concurrent-login screen, the user's session list, the heartbeat, and the owner's
view of sharing findings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from saruna.accounts import actions, sessions, sharing
from saruna.accounts.models import SharingFinding, UserSession


@login_required
@require_http_methods(["GET", "POST"])
def concurrent_login(request: HttpRequest) -> HttpResponse:
    session = sessions.current_session(request)
    if session is None or not session.pending_concurrent:
        request.session.pop(sessions.PENDING_KEY, None)
        return redirect("dashboard")
    if request.method == "POST":
        if request.POST.get("decision") == "continue":
            sessions.continue_here(request, session)
            messages.success(request, _("The other session was ended. You can work here."))
            return redirect("dashboard")
        if request.POST.get("decision") == "cancel":
            sessions.cancel_here(request, session)
            logout(request)
            return redirect("login")
    if sessions.settle_if_alone(request, session):
        return redirect("dashboard")
    return render(request, "accounts/concurrent_login.html", {
        "others": sessions.conflicts(session),
        "this_session": session,
    })


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    rows = sessions.open_sessions(request.user).order_by("-last_seen_at")  # type: ignore[arg-type]
    return render(request, "accounts/session_list.html", {
        "rows": rows,
        "current_key": request.session.session_key,
    })


@login_required
@require_POST
def session_end(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(
        UserSession, pk=pk, user=request.user, ended_at__isnull=True
    )
    if session.session_key == request.session.session_key:
        # Ending this browser's own session is logging out.
        actions.log_out(request)
        return redirect("login")
    sessions.revoke(request, session)
    messages.success(request, _("The session on %(device)s was logged out.")
                     % {"device": session.device_label})
    return redirect("session_list")


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    count = sessions.revoke_others(request)
    messages.success(request, _("Other sessions logged out: %(count)d.") % {"count": count})
    return redirect("session_list")


@require_POST
def heartbeat(request: HttpRequest) -> HttpResponse:
    """Pages that stay open without navigating call this every few minutes; 401 tells them
    that the login has ended."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    if sessions.is_tracked(request):
        sessions.touch(request)
    return HttpResponse(status=204)


@login_required
def sharing_findings(request: HttpRequest) -> HttpResponse:
    if not request.user.can_manage_account:  # type: ignore[union-attr]
        raise PermissionDenied
    findings = list(SharingFinding.objects.select_related("user").order_by("-detected_at"))
    for finding in findings:
        finding.entries = sharing.entries(finding)  # type: ignore[attr-defined]
    return render(request, "accounts/sharing_findings.html", {
        "findings": findings,
        "can_dismiss": request.user.is_owner,  # type: ignore[union-attr]
    })


@login_required
@require_POST
def sharing_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(SharingFinding, pk=pk)
    if not request.user.is_owner:  # type: ignore[union-attr]
        raise PermissionDenied
    if finding.status == SharingFinding.Status.OPEN:
        sharing.dismiss(request, finding)
        messages.success(request, _("The finding was dismissed."))
    return redirect("sharing_findings")
