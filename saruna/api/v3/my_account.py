"""``GET /my_account/_link`` (API §24): a single-use link, valid for 10 minutes, that opens
"My account" (plan, billing, cancellation) already signed in as the key's user — an owner.

The link points at ``/api/v3/my_account/_enter``, which a browser opens (not an API client):
it checks the signed token, spends it, logs the owner in and sends the browser on to the
page (through the code page first when the owner uses two-factor authentication: the key
stands for a password, not for the second factor). The token names the account, the user
and a random nonce; the nonce is spent in the cache, so a second use of the same link is
refused."""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from ninja import Router, Schema

from saruna.accounts import actions as account_actions
from saruna.accounts.models import User
from saruna.accounts.views import ask_second_factor
from saruna.api.auth import ApiError, require
from saruna.api.v3.common import audited, responses

router = Router(tags=["my account"])

SALT = "saruna.api.my_account_link"
VALID_SECONDS = 10 * 60


class MyAccountLinkOut(Schema):
    link: str


def _spent_key(account_id: str, nonce: str) -> str:
    return f"{account_id}:my_account_link:{nonce}"


@router.get("/my_account/_link", response=responses(MyAccountLinkOut),
            summary="A single-use link to My account, signed in (owners only)")
def my_account_link(request: HttpRequest) -> dict[str, Any]:
    key = require(request)
    if key.user is None or not key.user.is_owner or not key.user.is_active:
        raise ApiError(403, gettext("Only the account's owner gets a link to My account."))
    account = request.account  # type: ignore[attr-defined]
    token = signing.dumps(
        {"a": account.pk, "u": key.user.pk, "n": secrets.token_urlsafe(16)}, salt=SALT
    )
    audited(request, "api.my_account_link", target=key.user)
    return {"link": f"{account.url.rstrip('/')}/api/v3/my_account/_enter?token={token}"}


@router.get("/my_account/_enter", auth=None, include_in_schema=False)
def enter_my_account(request: HttpRequest, token: str = "") -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    try:
        data = signing.loads(token, salt=SALT, max_age=VALID_SECONDS)
    except signing.BadSignature as error:
        raise ApiError(403, gettext("This link is not valid or has expired.")) from error
    owner = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if data.get("a") != account.pk or owner is None or not owner.is_owner:
        raise ApiError(403, gettext("This link is not valid or has expired."))
    if not cache.add(_spent_key(account.pk, str(data.get("n"))), 1, VALID_SECONDS + 60):
        raise ApiError(403, gettext("This link was used already."))
    if owner.totp_enabled:  # the key stands for the password, never for the second factor
        return ask_second_factor(request, owner, reverse("my_account"))
    account_actions.log_in(request, owner)
    return HttpResponseRedirect(reverse("my_account"))
