"""Magic-link login to the customer portal: a signed link, valid 30 minutes, usable once.

The token names the account, the contact and a random nonce. It is signed (not stored), so
a link of account A is refused on B's host by the account check; the nonce is spent in the
cache (key starting with the account id) when the link is used.
"""

from __future__ import annotations

import secrets
from enum import Enum

from django.core import signing
from django.core.cache import cache
from django.utils import translation

from saruna.contacts.models import Contact, ContactEmail, normalize_email
from saruna.core.models import Account
from saruna.core.outbox import queue_email
from saruna.portal.links import home_url, login_url

SALT = "saruna.portal.login"
MAX_AGE = 30 * 60
SESSION_KEY = "portal_contact_id"


class LinkProblem(Enum):
    FOREIGN = "foreign"  # not this account's link (or not a link at all): "not found"
    EXPIRED = "expired"
    USED = "used"


def _spent_key(account_id: str, nonce: str) -> str:
    return f"{account_id}:portal-login-spent:{nonce}"


def contact_for_email(email: str) -> Contact | None:
    """The active scope's contact owning ``email`` (merged-away tombstones own nothing)."""
    found = (
        ContactEmail.objects.filter(
            normalized=normalize_email(email), contact__isnull=False,
            contact__merged_into__isnull=True,
        )
        .select_related("contact")
        .first()
    )
    return found.contact if found is not None else None


def send_login_link(account: Account, email: str) -> bool:
    """E-mails a login link when a contact owns ``email``; answers whether one was sent
    (callers must not tell the visitor: the answer reveals who is a customer)."""
    contact = contact_for_email(email)
    if contact is None:
        return False
    token = signing.dumps(
        {"a": account.pk, "c": contact.pk, "n": secrets.token_urlsafe(12)}, salt=SALT
    )
    queue_email(
        email, "portal/email/login",
        {"account": account, "contact": contact, "url": login_url(account, token),
         "portal_url": home_url(account), "minutes": MAX_AGE // 60},
        account=account, language=contact.language or translation.get_language(),
    )
    return True


def check(account: Account, token: str) -> tuple[Contact | None, LinkProblem | None]:
    """The contact a link logs in, without using it up; or why it cannot."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        try:  # an expired link of another account is still "not found" here
            data = signing.loads(token, salt=SALT)
        except signing.BadSignature:
            return None, LinkProblem.FOREIGN
        if not isinstance(data, dict) or data.get("a") != account.pk:
            return None, LinkProblem.FOREIGN
        return None, LinkProblem.EXPIRED
    except signing.BadSignature:
        return None, LinkProblem.FOREIGN
    if not isinstance(data, dict) or data.get("a") != account.pk:
        return None, LinkProblem.FOREIGN
    contact = Contact.objects.filter(pk=data.get("c"), merged_into__isnull=True).first()
    if contact is None:
        return None, LinkProblem.FOREIGN
    if cache.get(_spent_key(account.pk, str(data.get("n")))):
        return None, LinkProblem.USED
    return contact, None


def redeem(account: Account, token: str) -> tuple[Contact | None, LinkProblem | None]:
    """Like :func:`check`, and spends the link: of two requests racing with one link, only
    the one whose ``cache.add`` wins logs in."""
    contact, problem = check(account, token)
    if contact is None:
        return None, problem
    nonce = signing.loads(token, salt=SALT, max_age=MAX_AGE)["n"]
    if not cache.add(_spent_key(account.pk, nonce), True, timeout=MAX_AGE + 60):
        return None, LinkProblem.USED
    return contact, None
