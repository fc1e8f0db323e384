"""Identity inside an account: login, passwords, profile, two-factor, users and invitations,
and the audit log. Views only read and hand writes to :mod:`saruna.accounts.actions`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from saruna.accounts import actions, forms, totp
from saruna.accounts.actions import ActionError
from saruna.accounts.decorators import manager_required
from saruna.accounts.models import Invitation, User
from saruna.core.models import AuditEvent

# The half-logged-in state between the password and the TOTP code.
PENDING_LOGIN = "saruna_pending_login"
PENDING_LOGIN_SECONDS = 5 * 60
AUDIT_PAGE_SIZE = 50

AUDIT_VERBS = {
    "auth.login": gettext_lazy("Logged in"),
    "auth.login_failed": gettext_lazy("Failed login"),
    "auth.login_throttled": gettext_lazy("Logins blocked after repeated failures"),
    "auth.logout": gettext_lazy("Logged out"),
    "auth.password_reset_requested": gettext_lazy("Password reset requested"),
    "auth.password_reset": gettext_lazy("Password reset"),
    "auth.password_changed": gettext_lazy("Password changed"),
    "user.profile_updated": gettext_lazy("Profile updated"),
    "user.email_changed": gettext_lazy("Login address changed"),
    "auth.totp_enabled": gettext_lazy("Two-factor authentication turned on"),
    "auth.totp_disabled": gettext_lazy("Two-factor authentication turned off"),
    "invitation.sent": gettext_lazy("User invited"),
    "invitation.resent": gettext_lazy("Invitation sent again"),
    "invitation.revoked": gettext_lazy("Invitation revoked"),
    "invitation.accepted": gettext_lazy("Invitation accepted"),
    "user.role_changed": gettext_lazy("Role changed"),
    "account.ownership_transferred": gettext_lazy("Ownership transferred"),
    "user.deactivated": gettext_lazy("User deactivated"),
    "user.reactivated": gettext_lazy("User reactivated"),
    # Written by the account, session, sharing and support code.
    "account.created": gettext_lazy("Account created"),
    "account.verified": gettext_lazy("Account e-mail confirmed"),
    "account.seats_changed": gettext_lazy("Seat limit changed"),
    "session.concurrent_login": gettext_lazy("Login while another session was active"),
    "session.replaced_others": gettext_lazy("Other sessions ended by a new login"),
    "session.login_cancelled": gettext_lazy("Login cancelled"),
    "session.revoked": gettext_lazy("Session logged out"),
    "session.revoked_others": gettext_lazy("Other sessions logged out"),
    "sharing.detected": gettext_lazy("Login sharing detected"),
    "sharing.dismissed": gettext_lazy("Login sharing finding dismissed"),
    "support_access.granted": gettext_lazy("Provider support access started"),
    "support_access.ended": gettext_lazy("Provider support access ended"),
    "support_access.expired": gettext_lazy("Provider support access expired"),
    "account.closed": gettext_lazy("Account closed"),
    # Written by the help desk.
    "contact.merged": gettext_lazy("Contacts merged"),
    "contact.deleted": gettext_lazy("Contact deleted"),
    "company.deleted": gettext_lazy("Company deleted"),
    "custom_field.deleted": gettext_lazy("Custom field deleted"),
    "department.deleted": gettext_lazy("Department deleted"),
    "department.agents_changed": gettext_lazy("Department members changed"),
    "ticket.merged": gettext_lazy("Tickets merged"),
    # Written by billing.
    "billing.subscription_started": gettext_lazy("Subscription started"),
    "billing.trial_ended": gettext_lazy("Trial ended"),
    "billing.plan_changed": gettext_lazy("Plan changed"),
    "billing.cycle_changed": gettext_lazy("Billing period changed"),
    "billing.seats_changed": gettext_lazy("Paid seats changed"),
    "billing.payment_method_added": gettext_lazy("Payment method added"),
    "billing.details_updated": gettext_lazy("Billing details changed"),
    "billing.vat_number_checked": gettext_lazy("VAT number checked"),
    "billing.invoice_corrected": gettext_lazy("Invoice corrected"),
    "billing.credit_note_issued": gettext_lazy("Credit note issued"),
    "billing.suspended": gettext_lazy("Suspended for billing"),
    "billing.restored": gettext_lazy("Restored after payment"),
    "billing.blocked": gettext_lazy("Blocked until billing details are given"),
    "billing.cancelled": gettext_lazy("Subscription cancelled"),
    "billing.prepaid_credit_added": gettext_lazy("Prepaid credit bought"),
    "billing.prepaid_credit_started": gettext_lazy("Prepaid credit started"),
    "billing.prepaid_credit_ended_early": gettext_lazy("Prepaid credit ended early"),
    "billing.limits_overridden": gettext_lazy("Plan limits changed by the provider"),
    "billing.code_redeemed": gettext_lazy("Lifetime code redeemed"),
    "billing.code_reuse_suspended": gettext_lazy("Suspended for a reused lifetime code"),
    "billing.included_seats_exceeded": gettext_lazy("More agents than the included seats"),
    "api_key.created": gettext_lazy("API key created"),
    "api_key.changed": gettext_lazy("API key changed"),
    "api_key.revoked": gettext_lazy("API key revoked"),
    "savedfilter.created": gettext_lazy("Saved filter created"),
    "savedfilter.changed": gettext_lazy("Saved filter changed"),
    "savedfilter.deleted": gettext_lazy("Saved filter deleted"),
    "chat.started": gettext_lazy("Chat started"),
    "chat.ended": gettext_lazy("Chat ended"),
    "chat_button.created": gettext_lazy("Chat button added"),
    "chat_button.changed": gettext_lazy("Chat button changed"),
    "chat_settings.changed": gettext_lazy("Chat routing settings changed"),
    "sla_level.saved": gettext_lazy("SLA level saved"),
    "sla_level.deleted": gettext_lazy("SLA level deleted"),
    "visitors.settings_changed": gettext_lazy("Visitor tracking settings changed"),
    "visitors.rule_saved": gettext_lazy("Invitation rule saved"),
    "visitors.rule_deleted": gettext_lazy("Invitation rule deleted"),
    "webhook.created": gettext_lazy("Webhook added"),
    "webhook.updated": gettext_lazy("Webhook changed"),
    "webhook.deleted": gettext_lazy("Webhook deleted"),
    "api.write": gettext_lazy("Changed through the API"),
    "api.webhook.created": gettext_lazy("Webhook added through the API"),
    "api.webhook.changed": gettext_lazy("Webhook changed through the API"),
    "api.webhook.deleted": gettext_lazy("Webhook deleted through the API"),
    "api.webhook.tested": gettext_lazy("Webhook tested through the API"),
    "api.webhook.secret_renewed": gettext_lazy("Webhook secret renewed through the API"),
    "api.ticket.created": gettext_lazy("Ticket created through the API"),
    "api.ticket.changed": gettext_lazy("Ticket changed through the API"),
    "api.ticket.deleted": gettext_lazy("Ticket moved to the trash through the API"),
    "api.ticket.message_added": gettext_lazy("Message added through the API"),
    "api.message.deleted": gettext_lazy("Message deleted through the API"),
    "api.contact.created": gettext_lazy("Contact created through the API"),
    "api.contact.changed": gettext_lazy("Contact changed through the API"),
    "api.contact.deleted": gettext_lazy("Contact deleted through the API"),
    "api.contact.registered": gettext_lazy("Contact registered for the portal through the API"),
    "api.contact.unregistered": gettext_lazy(
        "Contact unregistered from the portal through the API"),
    "api.company.created": gettext_lazy("Company created through the API"),
    "api.company.changed": gettext_lazy("Company changed through the API"),
    "api.company.deleted": gettext_lazy("Company deleted through the API"),
    "api.company.registered": gettext_lazy("Company registered for the portal through the API"),
    "api.company.unregistered": gettext_lazy(
        "Company unregistered from the portal through the API"),
    "api.contact_group.created": gettext_lazy("Contact group created through the API"),
    "api.contact_group.changed": gettext_lazy("Contact group changed through the API"),
    "api.contact_group.deleted": gettext_lazy("Contact group deleted through the API"),
    "api.file.uploaded": gettext_lazy("File uploaded through the API"),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _display_tz(request: HttpRequest) -> str:
    return _user(request).time_zone or request.account.time_zone or "UTC"  # type: ignore[attr-defined]


def _safe_next(request: HttpRequest) -> str:
    """``?next=`` when it is a path on this host; the home page otherwise."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not parts.scheme
        and not parts.netloc
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return reverse("dashboard")


# --- Login -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    form = forms.LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert form.user is not None
        if form.user.totp_enabled:
            return ask_second_factor(request, form.user, next_url)
        actions.log_in(request, form.user)
        return redirect(next_url)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def ask_second_factor(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """The first factor was given (a password, a signed link): the code page finishes the
    login and goes on to ``next_url``."""
    request.session[PENDING_LOGIN] = {
        "user": user.pk, "at": timezone.now().timestamp(), "next": next_url,
    }
    return redirect("login_totp")


@require_http_methods(["GET", "POST"])
def login_totp(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_LOGIN)
    if not pending:
        return redirect("login")
    user = User.objects.filter(pk=pending["user"], is_active=True, totp_enabled=True).first()
    if user is None or timezone.now().timestamp() - pending["at"] > PENDING_LOGIN_SECONDS:
        del request.session[PENDING_LOGIN]
        messages.error(request, _("The login took too long. Please enter your password again."))
        return redirect("login")
    form = forms.TotpLoginForm(request, user, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        del request.session[PENDING_LOGIN]
        actions.log_in(request, user, two_factor=True)
        return redirect(pending["next"])
    return render(request, "accounts/login_totp.html", {"form": form})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    actions.log_out(request)
    return redirect("login")


# --- Passwords ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.request_password_reset(request, form.cleaned_data["email"])
        return redirect("password_reset_sent")
    return render(request, "accounts/password_reset.html", {"form": form})


def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_sent.html")


def _user_from_reset_link(uidb64: str, token: str) -> User | None:
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = _user_from_reset_link(uidb64, token)
    if user is None:
        return render(
            request,
            "accounts/link_invalid.html",
            {"message": _("This password reset link is not valid: it has expired or was "
                          "already used. You can ask for a new one.")},
            status=400,
        )
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.reset_password(request, user, form.cleaned_data["new_password1"])
        messages.success(request, _("Your password has been changed. Log in with it now."))
        return redirect("login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(_user(request), request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.change_password(request, _user(request), form.cleaned_data["new_password1"])
        messages.success(
            request, _("Your password has been changed. Your other sessions were logged out.")
        )
        return redirect("profile")
    return render(request, "accounts/password_change.html", {"form": form})


# --- Profile and two-factor --------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = forms.ProfileForm(
        request.POST or None,
        initial={"full_name": user.full_name, "language": user.language,
                 "time_zone": user.time_zone},
    )
    if request.method == "POST" and form.is_valid():
        actions.update_profile(request, user, **form.cleaned_data)
        if user.language:  # the new language applies to this very confirmation
            translation.activate(user.language)
        messages.success(request, _("Your profile has been saved."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/security.html", {"disable_form": forms.PasswordConfirmForm()})


@login_required
@require_POST
def totp_start(request: HttpRequest) -> HttpResponse:
    try:
        actions.start_totp_enrolment(_user(request))
    except ActionError as error:
        messages.error(request, error.message)
        return redirect("security")
    return redirect("totp_enrol")


@login_required
@require_http_methods(["GET", "POST"])
def totp_enrol(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.totp_enabled or not user.totp_secret:
        return redirect("security")
    form = forms.TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.enable_totp(request, user, form.cleaned_data["code"])
        except ActionError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("security")
    uri = totp.provisioning_uri(user, user.totp_secret)
    secret = user.totp_secret
    return render(request, "accounts/totp_enrol.html", {
        "form": form,
        # segno's own SVG for our own URI: no user markup in it.
        "qr_svg": mark_safe(totp.qr_svg(uri)),
        "secret_groups": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
    })


@login_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            actions.disable_totp(request, _user(request), form.cleaned_data["password"])
        except ActionError as error:
            form.add_error("password", error.message)
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("security")
    return render(request, "accounts/security.html", {"disable_form": form})


# --- Users and invitations ---------------------------------------------------------------


def _seats(request: HttpRequest) -> dict[str, int]:
    account = request.account  # type: ignore[attr-defined]
    return {"seats_used": actions.seats_used(account), "seats_max": account.max_agents}


@manager_required
def users(request: HttpRequest) -> HttpResponse:
    people = User.objects.annotate(last_seen=Max("sessions__last_seen_at")).order_by(
        "-is_active", "full_name", "email"
    )
    invitations = actions.open_invitations(request.account).select_related("invited_by")  # type: ignore[attr-defined]
    return render(request, "accounts/users.html", {
        "people": people, "invitations": invitations, "display_tz": _display_tz(request),
        **_seats(request),
    })


@manager_required
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    form = forms.InviteForm(request.POST or None)
    # The way out a refusal offers: resend the open invitation, or open the deactivated user.
    open_invitation = deactivated_user = None
    if request.method == "POST" and form.is_valid():
        try:
            invitation = actions.invite_user(request, invited_by=_user(request),
                                             **form.cleaned_data)
        except ActionError as error:
            form.add_error(None, error.message)
            if error.code == "invitation_open":
                open_invitation = error.obj
            elif error.code == "deactivated":
                deactivated_user = error.obj
        else:
            messages.success(request, _("Invitation sent to %(email)s.")
                             % {"email": invitation.email})
            return redirect("users")
    return render(request, "accounts/invite.html", {
        "form": form, "open_invitation": open_invitation, "deactivated_user": deactivated_user,
        **_seats(request),
    })


def _invitation_action(
    request: HttpRequest, invitation_id: str, action: Any, done: str
) -> HttpResponse:
    """Run ``action`` on one of the account's invitations and say how it went."""
    invitation = get_object_or_404(Invitation, pk=invitation_id)
    try:
        action(request, invitation, actor=_user(request))
    except ActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done % {"email": invitation.email})
    return redirect("users")


@manager_required
@require_POST
def resend_invitation(request: HttpRequest, invitation_id: str) -> HttpResponse:
    return _invitation_action(request, invitation_id, actions.resend_invitation,
                              _("Invitation sent again to %(email)s."))


@manager_required
@require_POST
def revoke_invitation(request: HttpRequest, invitation_id: str) -> HttpResponse:
    return _invitation_action(request, invitation_id, actions.revoke_invitation,
                              _("The invitation to %(email)s was revoked."))


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = actions.invitation_from_token(request.account, token)  # type: ignore[attr-defined]
    except ActionError as error:
        return render(request, "accounts/link_invalid.html", {"message": error.message},
                      status=error.status)
    form = forms.AcceptInvitationForm(invitation, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.accept_invitation(request, invitation, full_name=form.cleaned_data["full_name"],
                                      password=form.cleaned_data["password1"])
        except ActionError as error:
            return render(request, "accounts/link_invalid.html", {"message": error.message},
                          status=error.status)
        messages.success(request, _("Welcome to %(account)s!")
                         % {"account": request.account.name})  # type: ignore[attr-defined]
        return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html",
                  {"form": form, "invitation": invitation})


def _user_detail(
    request: HttpRequest, target: User, *, role_form: forms.RoleForm | None = None,
    error: str = "",
) -> HttpResponse:
    me = _user(request)
    last_seen = target.sessions.aggregate(last=Max("last_seen_at"))["last"]
    return render(request, "accounts/user_detail.html", {
        "person": target,
        "last_seen": last_seen,
        "display_tz": _display_tz(request),
        "error": error,
        "role_form": role_form or forms.RoleForm(initial={"role": target.role}),
        "can_change_role": not target.is_owner and target.pk != me.pk,
        "can_deactivate": target.is_active and not target.is_owner and target.pk != me.pk,
        "can_transfer": me.is_owner and target.is_active and target.pk != me.pk,
    })


@manager_required
def user_detail(request: HttpRequest, user_id: str) -> HttpResponse:
    return _user_detail(request, get_object_or_404(User, pk=user_id))


@manager_required
@require_POST
def change_role(request: HttpRequest, user_id: str) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    form = forms.RoleForm(request.POST)
    if form.is_valid():
        try:
            actions.change_role(request, target, form.cleaned_data["role"], actor=_user(request))
        except ActionError as error:
            # Shown at the top: the role form itself is hidden for the owner and oneself.
            return _user_detail(request, target, error=error.message)
        else:
            messages.success(request, _("%(name)s is now: %(role)s.")
                             % {"name": target.full_name, "role": target.get_role_display()})
            return redirect("user_detail", user_id=target.pk)
    return _user_detail(request, target, role_form=form)


@manager_required
@require_POST
def deactivate_user(request: HttpRequest, user_id: str) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    try:
        actions.deactivate_user(request, target, actor=_user(request))
    except ActionError as error:
        return _user_detail(request, target, error=error.message)
    messages.success(request, _("%(name)s was deactivated and logged out everywhere.")
                     % {"name": target.full_name})
    return redirect("user_detail", user_id=target.pk)


@manager_required
@require_POST
def reactivate_user(request: HttpRequest, user_id: str) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    try:
        actions.reactivate_user(request, target, actor=_user(request))
    except ActionError as error:
        return _user_detail(request, target, error=error.message)
    messages.success(request, _("%(name)s can log in again.") % {"name": target.full_name})
    return redirect("user_detail", user_id=target.pk)


@manager_required
@require_http_methods(["GET", "POST"])
def transfer_ownership(request: HttpRequest, user_id: str) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    if not _user(request).is_owner:
        raise PermissionDenied
    form = forms.PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.transfer_ownership(request, target, owner=_user(request),
                                       password=form.cleaned_data["password"])
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("%(name)s is now the owner; you are an administrator.")
                             % {"name": target.full_name})
            return redirect("users")
    return render(request, "accounts/transfer_ownership.html", {"person": target, "form": form})


# --- Audit log ---------------------------------------------------------------------------


@manager_required
def audit_log(request: HttpRequest) -> HttpResponse:
    verbs = AuditEvent.objects.order_by("verb").values_list("verb", flat=True).distinct()
    form = forms.AuditFilterForm([(v, AUDIT_VERBS.get(v, v)) for v in verbs], request.GET)
    events = AuditEvent.objects.select_related("actor_user")
    verb = form.cleaned_data["verb"] if form.is_valid() else ""
    if verb:
        events = events.filter(verb=verb)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows: list[dict[str, Any]] = [
        {"event": event, "label": AUDIT_VERBS.get(event.verb, event.verb)} for event in page
    ]
    return render(request, "accounts/audit_log.html", {
        "form": form, "page": page, "rows": rows, "verb": verb,
        "display_tz": _display_tz(request),
    })
