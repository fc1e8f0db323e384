"""Every write about people in an account: logins, passwords, two-factor, invitations,
roles, ownership and (de)activation. One transaction each; refused input raises
:class:`ActionError`, which views show as a form error, and then nothing has changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from saruna.accounts import sessions, totp
from saruna.accounts.models import Invitation, User, UserSession
from saruna.billing.actions import cover_active_users
from saruna.core import audit, ratelimit
from saruna.core.models import Account
from saruna.core.net import client_ip
from saruna.core.outbox import queue_email
from saruna.core.urls import public_url
from saruna.tickets.membership import join_default_department


class ActionError(Exception):
    """Refused input, with a message for the person who gave it. ``code`` lets a view offer
    a way out (e.g. "resend" for an invitation that is already open)."""

    def __init__(self, message: str, *, code: str = "", status: int = 400, obj: Any = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.obj = obj


INVITABLE_ROLES = (User.Role.AGENT, User.Role.ADMIN)
INVITATION_VALID = timedelta(days=7)
INVITATION_SALT = "saruna.accounts.invitation"
LOGIN_FAILURE_LIMIT = "10/15m"
PASSWORD_RESET_LIMIT = "5/h"


def _lock(account: Account) -> Account:
    """Serialise seat-counting writes of one account (a row lock on PostgreSQL; SQLite's
    IMMEDIATE transactions already serialise writers)."""
    return Account.objects.select_for_update().get(pk=account.pk)


def _tenant_url(account: Account, name: str, **kwargs: Any) -> str:
    path = reverse(name, kwargs=kwargs, urlconf=settings.SARUNA_TENANT_URLCONF)
    return public_url(account.host, path)


def _normal_email(email: str) -> str:
    return email.strip().lower()


# --- Seats -------------------------------------------------------------------------------


def open_invitations(account: Account) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        account=account,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def seats_used(account: Account) -> int:
    """Active users plus open invitations: an invitation holds its seat until it ends."""
    active = User.objects.filter(account=account, is_active=True).count()
    return active + open_invitations(account).count()


def _require_free_seat(account: Account) -> None:
    if seats_used(account) >= account.max_agents:
        seats = account.max_agents
        raise ActionError(
            ngettext(
                "Your plan has %(seats)d seat and it is in use.",
                "Your plan has %(seats)d seats and all of them are in use.",
                seats,
            ) % {"seats": seats}
            + " "
            + _("Deactivate a user or revoke an invitation to free a seat."),
            code="seat_limit",
        )


# --- Login and logout --------------------------------------------------------------------


def _failures_key(request: HttpRequest, email: str) -> str:
    account: Account = request.account  # type: ignore[attr-defined]
    return f"{account.pk}:login-failures:{_normal_email(email)}|{client_ip(request)}"


def login_blocked(request: HttpRequest, email: str) -> bool:
    """True once this e-mail has failed too often from this address; checked before the
    password so a locked-out guesser learns nothing from further tries."""
    return ratelimit.exhausted(_failures_key(request, email), LOGIN_FAILURE_LIMIT)


@transaction.atomic
def record_failed_login(request: HttpRequest, email: str, *, reason: str) -> None:
    account: Account = request.account  # type: ignore[attr-defined]
    failures = ratelimit.increment(_failures_key(request, email), LOGIN_FAILURE_LIMIT)
    email = _normal_email(email)
    user = User.objects.filter(email=email).first()
    audit.record(account, "auth.login_failed", target=user, request=request, email=email,
                 reason=reason)
    if failures == ratelimit.parse(LOGIN_FAILURE_LIMIT)[0]:
        audit.record(account, "auth.login_throttled", target=user, request=request, email=email)


@transaction.atomic
def log_in(request: HttpRequest, user: User, *, two_factor: bool = False) -> None:
    """Log ``user`` in on this request and record the session (see ``sessions``)."""
    auth.login(request, user)
    sessions.start_session(request, user)
    ratelimit.reset(_failures_key(request, user.email), LOGIN_FAILURE_LIMIT)
    audit.record(
        request.account,  # type: ignore[attr-defined]
        "auth.login", actor=user, target=user, request=request, two_factor=two_factor,
    )


@transaction.atomic
def log_out(request: HttpRequest) -> None:
    """Logging out of a support session ends its grant: the staff member is done."""
    grant = getattr(request, "support_grant", None)
    if grant is not None:
        from saruna.accounts.support import end_support_access

        end_support_access(grant, request=request)
    user = request.user
    if user.is_authenticated and getattr(request, "account", None) is not None:
        audit.record(request.account, "auth.logout", actor=user, target=user, request=request)  # type: ignore[attr-defined]
        sessions.end_session(request)
    auth.logout(request)


# --- Passwords ---------------------------------------------------------------------------


@transaction.atomic
def request_password_reset(request: HttpRequest, email: str) -> None:
    """Mail a reset link if ``email`` belongs to an active user; silent either way, so the
    form cannot be used to learn who has an account."""
    account: Account = request.account  # type: ignore[attr-defined]
    email = _normal_email(email)
    client = f"{account.pk}:password-reset:{email}:{ratelimit.client_key(request)}"
    if not ratelimit.hit(client, PASSWORD_RESET_LIMIT):
        return
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        return
    link = _tenant_url(
        account,
        "password_reset_confirm",
        uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
    )
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    queue_email(
        user.email,
        "accounts/email/password_reset",
        {"user": user, "account": account, "link": link, "hours": hours},
        account=account,
        language=user.language or account.language,
    )
    audit.record(account, "auth.password_reset_requested", target=user, request=request)


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.last_password_change = timezone.now()
    user.save(update_fields=["password", "last_password_change"])


@transaction.atomic
def reset_password(request: HttpRequest, user: User, password: str) -> None:
    """Set a new password from a reset link; every session of the user ends, since one of
    them may be the reason for the reset."""
    _set_password(user, password)
    sessions.end_all_sessions(user, UserSession.EndReason.REVOKED)
    audit.record(request.account, "auth.password_reset", actor=user, target=user, request=request)  # type: ignore[attr-defined]


@transaction.atomic
def change_password(request: HttpRequest, user: User, password: str) -> None:
    """Change the password from the profile: this session stays, the others end."""
    _set_password(user, password)
    sessions.end_all_sessions(
        user, UserSession.EndReason.REVOKED, except_key=request.session.session_key
    )
    # What update_session_auth_hash() does, minus its new session key: the UserSession
    # row of this login is found by that key.
    request.session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    audit.record(request.account, "auth.password_changed", actor=user, target=user, request=request)  # type: ignore[attr-defined]


# --- Profile and two-factor --------------------------------------------------------------


@transaction.atomic
def update_profile(
    request: HttpRequest, user: User, *, full_name: str, language: str, time_zone: str
) -> None:
    changes = {
        name: value
        for name, value in
        (("full_name", full_name), ("language", language), ("time_zone", time_zone))
        if getattr(user, name) != value
    }
    if not changes:
        return
    for name, value in changes.items():
        setattr(user, name, value)
    user.save(update_fields=list(changes))
    audit.record(
        request.account,  # type: ignore[attr-defined]
        "user.profile_updated", actor=user, target=user, request=request, fields=sorted(changes),
    )


@transaction.atomic
def start_totp_enrolment(user: User) -> str:
    """The secret to show while enrolling; kept across page reloads until confirmed."""
    if user.totp_enabled:
        raise ActionError(_("Two-factor authentication is already on."))
    if not user.totp_secret:
        user.totp_secret = totp.new_secret()
        user.save(update_fields=["totp_secret"])
    return user.totp_secret


@transaction.atomic
def enable_totp(request: HttpRequest, user: User, code: str) -> None:
    if user.totp_enabled:
        raise ActionError(_("Two-factor authentication is already on."))
    if not user.totp_secret or not totp.verify(user, code):
        raise ActionError(
            _("That code is not correct. Check that your phone's clock is right and try again.")
        )
    user.totp_enabled = True
    user.save(update_fields=["totp_enabled"])
    audit.record(request.account, "auth.totp_enabled", actor=user, target=user, request=request)  # type: ignore[attr-defined]


@transaction.atomic
def disable_totp(request: HttpRequest, user: User, password: str) -> None:
    if not user.totp_enabled:
        raise ActionError(_("Two-factor authentication is already off."))
    if not user.check_password(password):
        raise ActionError(_("Your password is not correct."))
    user.totp_enabled = False
    user.totp_secret = ""
    user.save(update_fields=["totp_enabled", "totp_secret"])
    audit.record(request.account, "auth.totp_disabled", actor=user, target=user, request=request)  # type: ignore[attr-defined]


# --- Invitations -------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"a": invitation.account_id, "i": invitation.pk}, salt=INVITATION_SALT)


def invitation_from_token(account: Account, token: str) -> Invitation:
    """The open invitation a link names; ActionError with status 400 (broken link) or
    410 (used, withdrawn or expired) otherwise."""
    broken = ActionError(
        _("This invitation link is not valid. Check that you copied the whole link."),
        status=400,
    )
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_VALID)
    except signing.SignatureExpired:
        raise ActionError(
            _("This invitation has expired. Ask whoever invited you to send a new one."),
            status=410,
        ) from None
    except signing.BadSignature:
        raise broken from None
    if not isinstance(data, dict) or data.get("a") != account.pk:
        raise broken
    invitation = Invitation.objects.filter(pk=data.get("i")).first()
    if invitation is None:
        raise broken
    if invitation.accepted_at is not None:
        raise ActionError(
            _("This invitation has already been used. Log in with your e-mail and password."),
            status=410,
        )
    if invitation.revoked_at is not None:
        raise ActionError(_("This invitation has been withdrawn."), status=410)
    if invitation.expires_at <= timezone.now():
        raise ActionError(
            _("This invitation has expired. Ask whoever invited you to send a new one."),
            status=410,
        )
    return invitation


def _send_invitation(invitation: Invitation) -> None:
    account = invitation.account
    queue_email(
        invitation.email,
        "accounts/email/invitation",
        {
            "account": account,
            "invitation": invitation,
            "inviter": invitation.invited_by,
            "link": _tenant_url(account, "accept_invitation", token=invitation_token(invitation)),
        },
        account=account,
        language=account.language,
    )


@transaction.atomic
def invite_user(
    request: HttpRequest, *, email: str, role: str, invited_by: User
) -> Invitation:
    account = _lock(request.account)  # type: ignore[attr-defined]
    email = _normal_email(email)
    if role not in INVITABLE_ROLES:
        raise ActionError(_("Invite people as agents or administrators."))
    if account.status == Account.Status.UNVERIFIED:
        raise ActionError(
            _("Confirm your account's e-mail address first: we sent you a link at sign-up."),
            code="unverified",
        )
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        if existing.is_active:
            raise ActionError(_("%(email)s is already a user of this account.") % {"email": email})
        raise ActionError(
            _("%(email)s belongs to a deactivated user: reactivate them instead.")
            % {"email": email},
            code="deactivated",
            obj=existing,
        )
    pending = open_invitations(account).filter(email=email).first()
    if pending is not None:
        raise ActionError(
            _("%(email)s already has an open invitation. You can send it again instead.")
            % {"email": email},
            code="invitation_open",
            obj=pending,
        )
    _require_free_seat(account)
    invitation = Invitation.objects.create(
        account=account,
        email=email,
        role=role,
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_VALID,
    )
    _send_invitation(invitation)
    audit.record(account, "invitation.sent", actor=invited_by, target=invitation, request=request,
                 role=role)
    return invitation


@transaction.atomic
def resend_invitation(request: HttpRequest, invitation: Invitation, *, actor: User) -> None:
    """Mail the invitation again with a fresh link and another full week to accept."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ActionError(_("This invitation is no longer open: invite the person again."))
    invitation.expires_at = timezone.now() + INVITATION_VALID
    invitation.save(update_fields=["expires_at"])
    _send_invitation(invitation)
    audit.record(invitation.account, "invitation.resent", actor=actor, target=invitation,
                 request=request)


@transaction.atomic
def revoke_invitation(request: HttpRequest, invitation: Invitation, *, actor: User) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ActionError(_("This invitation is no longer open."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(invitation.account, "invitation.revoked", actor=actor, target=invitation,
                 request=request)


@transaction.atomic
def accept_invitation(
    request: HttpRequest, invitation: Invitation, *, full_name: str, password: str
) -> User:
    """Create the invited user (the seat was held by the invitation) and log them in."""
    account = _lock(invitation.account)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ActionError(_("This invitation is no longer valid."), status=410)
    if User.objects.filter(email=invitation.email).exists():
        raise ActionError(
            _("%(email)s is already a user of this account: log in instead.")
            % {"email": invitation.email},
            status=410,
        )
    now = timezone.now()
    user = User.objects.create_user(
        invitation.email,
        password,
        account=account,
        role=invitation.role,
        full_name=full_name.strip(),
        adult_confirmed_at=now,
        last_password_change=now,
    )
    join_default_department(user)
    invitation.accepted_at = now
    invitation.save(update_fields=["accepted_at"])
    cover_active_users(account)
    audit.record(account, "invitation.accepted", actor=user, target=user, request=request,
                 invitation=invitation.pk, role=invitation.role)
    if request.user.is_authenticated:  # someone else was logged in in this browser
        sessions.end_session(request)
    log_in(request, user)
    return user


# --- Roles, ownership, activation --------------------------------------------------------


@transaction.atomic
def change_login_email(request: HttpRequest, target: User, email: str, *,
                       actor: User | None) -> None:
    """A manager changes an agent's login address (the API, §11). The old address is told,
    so a stolen key cannot quietly move someone's login (and their password resets) away;
    the owner's address changes only by the owner."""
    email = _normal_email(email)
    if email == target.email:
        return
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ActionError(_("Enter a valid e-mail address.")) from exc
    if target.is_owner and (actor is None or actor.pk != target.pk):
        raise ActionError(_("Only the owner changes the owner's login address."), status=403)
    if User.objects.filter(email=email).exclude(pk=target.pk).exists():
        raise ActionError(_("Another user of this account has this address."), status=409)
    previous = target.email
    target.email = email
    target.save(update_fields=["email"])
    account = target.account
    assert account is not None  # agents belong to an account; staff have no API
    queue_email(previous, "accounts/email/login_changed",
                {"user": target, "account": account, "email": email},
                account=account, language=target.language or account.language)
    audit.record(account, "user.email_changed", actor=actor, target=target, request=request,
                 previous=previous, email=email)


@transaction.atomic
def change_role(request: HttpRequest, target: User, role: str, *, actor: User) -> None:
    if role not in INVITABLE_ROLES:
        raise ActionError(_("Choose agent or administrator."))
    if target.is_owner:
        raise ActionError(_("The owner's role changes only when ownership is transferred."))
    if target.pk == actor.pk:
        raise ActionError(_("You cannot change your own role."))
    if target.role == role:
        return
    previous = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit.record(request.account, "user.role_changed", actor=actor, target=target, request=request,  # type: ignore[attr-defined]
                 previous=previous, role=role)


@transaction.atomic
def transfer_ownership(
    request: HttpRequest, new_owner: User, *, owner: User, password: str
) -> None:
    """Make ``new_owner`` the owner; the previous owner stays on as an administrator."""
    account = _lock(request.account)  # type: ignore[attr-defined]
    if not owner.is_owner:
        raise ActionError(_("Only the owner can transfer ownership."), status=403)
    if not owner.check_password(password):
        raise ActionError(_("Your password is not correct."))
    if new_owner.pk == owner.pk:
        raise ActionError(_("You already own this account."))
    if not new_owner.is_active:
        raise ActionError(_("Ownership can only go to an active user."))
    # Demote first: the database allows one owner per account at any moment.
    owner.role = User.Role.ADMIN
    owner.save(update_fields=["role"])
    new_owner.role = User.Role.OWNER
    new_owner.save(update_fields=["role"])
    audit.record(account, "account.ownership_transferred", actor=owner, target=new_owner,
                 request=request, previous_owner=owner.pk)


@transaction.atomic
def deactivate_user(request: HttpRequest, target: User, *, actor: User) -> None:
    """Lock the user out at once and free their seat; their data stays."""
    if target.is_owner:
        raise ActionError(_("The owner cannot be deactivated. Transfer ownership first."))
    if target.pk == actor.pk:
        raise ActionError(_("You cannot deactivate yourself."))
    if not target.is_active:
        raise ActionError(_("This user is already deactivated."))
    target.is_active = False
    target.deactivated_at = timezone.now()
    target.save(update_fields=["is_active", "deactivated_at"])
    sessions.end_all_sessions(target, UserSession.EndReason.DEACTIVATED)
    audit.record(request.account, "user.deactivated", actor=actor, target=target,  # type: ignore[attr-defined]
                 request=request)


@transaction.atomic
def reactivate_user(request: HttpRequest, target: User, *, actor: User) -> None:
    account = _lock(request.account)  # type: ignore[attr-defined]
    if target.is_active:
        raise ActionError(_("This user is already active."))
    _require_free_seat(account)
    target.is_active = True
    target.deactivated_at = None
    target.save(update_fields=["is_active", "deactivated_at"])
    cover_active_users(account)
    audit.record(account, "user.reactivated", actor=actor, target=target, request=request)
