from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from saruna.accounts.models import User
from saruna.accounts.sessions import start_session
from saruna.accounts.signup import VerificationError, send_verification_email, verify_account
from saruna.core import ratelimit
from saruna.core.models import Account
from saruna.tickets.views import inbox

VERIFY_RESEND_LIMIT = "3/h"


@login_required
def dashboard(request: HttpRequest) -> HttpResponseBase:
    """The agent's home inside an account is the inbox (served here rather than redirected,
    so the address people land on after login stays ``/``)."""
    return inbox(request)


@require_GET
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the signup e-mail: activates the account and logs the owner in."""
    account: Account = request.account  # type: ignore[attr-defined]
    try:
        owner, changed = verify_account(account, token, request=request)
    except VerificationError as error:
        return render(
            request, "web/verify_failed.html",
            {"error": str(error), "expired": error.expired,
             "unverified": account.status == Account.Status.UNVERIFIED},
            status=400,
        )
    if not changed:
        return render(request, "web/verify_already.html")
    login(request, owner)
    start_session(request, owner)
    messages.success(request, _("Your e-mail address is confirmed. Welcome to Saruna!"))
    return redirect("dashboard")


@require_POST
def verify_resend(request: HttpRequest) -> HttpResponse:
    """A new confirmation link for the owner (after an expired one). It only ever goes to the
    owner's own address, and says the same thing whatever the account's state."""
    account: Account = request.account  # type: ignore[attr-defined]
    if account.status == Account.Status.UNVERIFIED and ratelimit.hit(
        f"signup-resend:{account.pk}", VERIFY_RESEND_LIMIT
    ):
        owner = User.objects.filter(role=User.Role.OWNER, is_active=True).first()
        if owner is not None:
            send_verification_email(account, owner)
    messages.info(
        request,
        _("If this account still waits for confirmation, its owner will receive a new link."),
    )
    return redirect("login")
