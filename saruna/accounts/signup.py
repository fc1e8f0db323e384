"""Creating accounts: the slug (subdomain) rules, the default plan catalogue, the signup
write itself and the e-mail verification that moves an account out of ``unverified``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope
from slugify import slugify

from saruna.accounts.models import User
from saruna.billing import actions as billing
from saruna.core import audit
from saruna.core.models import Account, Plan
from saruna.core.net import client_ip
from saruna.core.outbox import queue_email
from saruna.core.urls import public_url
from saruna.tickets.membership import join_default_department

# --- Plans -----------------------------------------------------------------------------

# The plans every installation starts with; billing's catalogue migration gives them prices
# and limits. ``trial`` is the plan of accounts made before billing: a trial is now a state of
# the subscription, not a plan.
DEFAULT_PLANS: tuple[tuple[str, str, int], ...] = (
    ("free", "Free", 3),
    ("trial", "Trial", 25),
    ("all-inclusive", "All-inclusive", 100),
)
SIGNUP_PLAN = "all-inclusive"


def ensure_default_plans() -> None:
    for code, name, max_agents in DEFAULT_PLANS:
        Plan.objects.get_or_create(code=code, defaults={"name": name, "max_agents": max_agents})


def signup_plan() -> Plan:
    ensure_default_plans()
    return Plan.objects.get(code=SIGNUP_PLAN)


# --- Slugs -----------------------------------------------------------------------------

SLUG_MAX_LENGTH = 63  # one DNS label
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# Host names the provider needs for itself, or that would mislead people if a customer had them.
RESERVED_SLUGS = frozenset({
    "www", "api", "admin", "mail", "static", "app", "help", "support", "status", "blog",
    "docs", "smtp", "imap", "pop", "pop3", "ftp", "ns1", "ns2", "cdn", "assets", "media",
    "dashboard", "billing", "signup", "login", "provider", "webmail", "autoconfig",
    "autodiscover", "localhost",
})
# Legal forms dropped from the end of a company name ("Acme Ltd." → "acme").
LEGAL_SUFFIXES = frozenset({
    "ltd", "limited", "inc", "incorporated", "llc", "llp", "plc", "corp", "co", "pty",
    "gmbh", "ag", "kg", "sia", "as", "asa", "oy", "oyj", "ab", "sa", "sas", "sarl", "srl",
    "spa", "bv", "nv", "sro", "kft", "aps", "uab", "ou", "ooo",
})
# Legal forms that Baltic and post-Soviet names usually put first ("SIA Ācme" → "acme").
LEGAL_PREFIXES = frozenset({"sia", "uab", "ooo"})
FALLBACK_SLUG = "account"


def is_reserved(slug: str) -> bool:
    return (
        slug in RESERVED_SLUGS
        or slug == settings.SARUNA_PROVIDER_ACCOUNT_SLUG
        or slug.startswith("xn--")  # punycode labels would pose as another (IDN) name
    )


def is_taken(slug: str) -> bool:
    return Account.objects.filter(slug=slug).exists()


def slug_base(company: str) -> str:
    """The company name as a DNS label, transliterated, without its legal form."""
    words = slugify(company).split("-") if company else []
    words = [w for w in words if w]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    while len(words) > 1 and words[0] in LEGAL_PREFIXES:
        words.pop(0)
    return slugify("-".join(words), max_length=SLUG_MAX_LENGTH, word_boundary=True) or (
        FALLBACK_SLUG
    )


def suggest_slug(company: str) -> str:
    """A free, unreserved slug for ``company``: ``acme``, else ``acme-2``, ``acme-3`` ..."""
    base = slug_base(company)
    if not is_reserved(base) and not is_taken(base):
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: SLUG_MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        if not is_reserved(candidate) and not is_taken(candidate):
            return candidate
        number += 1


def check_chosen_slug(slug: str, *, allow_reserved: bool = False) -> str | None:
    """Why a subdomain the person typed cannot be used, or None when it can."""
    if not _LABEL.match(slug) or "--" in slug:
        return _(
            "Use 1 to 63 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit."
        )
    if is_reserved(slug) and not allow_reserved:
        return _("This address is reserved. Please choose another one.")
    if is_taken(slug):
        return _("This address is already taken. Please choose another one.")
    return None


# --- The signup write --------------------------------------------------------------------


class SignupError(ValueError):
    """Bad signup input; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NewAccount:
    account: Account
    owner: User


def create_account(
    *,
    company: str,
    full_name: str,
    email: str,
    password: str,
    slug: str | None = None,
    verified: bool = False,
    request: HttpRequest | None = None,
    plan: Plan | None = None,
    is_provider: bool = False,
    allow_reserved: bool = False,
) -> NewAccount:
    """Create an account with its owner in one transaction and audit it.

    ``slug`` is the subdomain the person chose (refused when reserved or taken); without it
    one is made from the company name. Unverified accounts get the confirmation e-mail;
    ``verified`` (operators, the demo set-up) makes the account active at once.
    A self-service signup (unverified, on the signup plan) starts the plan's 14-day trial;
    accounts that operators make, and callers that pass ``plan`` (lifetime codes, the billing
    simulator), start their billing themselves.
    ``allow_reserved`` is only for the provider's own account.
    Raises :class:`SignupError` or :class:`django.core.exceptions.ValidationError` (password).
    """
    company, full_name = company.strip(), full_name.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    if not company:
        raise SignupError("company", _("Enter your company or organisation name."))
    if not full_name:
        raise SignupError("full_name", _("Enter your full name."))
    validate_password(password, user=User(email=email, full_name=full_name))
    if slug:
        slug = slug.strip().lower()
        problem = check_chosen_slug(slug, allow_reserved=allow_reserved)
        if problem:
            raise SignupError("subdomain", problem)
    now = timezone.now()
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    for _attempt in range(3):
        chosen = slug or suggest_slug(company)
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    slug=chosen,
                    name=company,
                    plan=plan or signup_plan(),
                    status=Account.Status.ACTIVE if verified else Account.Status.UNVERIFIED,
                    verified_at=now if verified else None,
                    terms_version=settings.SARUNA_TERMS_VERSION,
                    terms_accepted_at=now,
                    signup_ip=client_ip(request) if request is not None else None,
                    language=language if language in dict(settings.LANGUAGES) else "en",
                    is_provider=is_provider,
                )
                with scope(account=account):
                    owner = User.objects.create_user(
                        email, password, account=account, role=User.Role.OWNER,
                        full_name=full_name, adult_confirmed_at=now,
                        last_password_change=now,
                    )
                    join_default_department(owner)
                    audit.record(
                        account, "account.created", actor=owner, target=account,
                        request=request, slug=account.slug,
                        terms_version=account.terms_version, verified=verified,
                    )
                    if not verified and plan is None:
                        billing.start_subscription(account, plan=account.plan)
                    if not verified:
                        send_verification_email(account, owner)
                return NewAccount(account, owner)
        except IntegrityError:
            # Someone took the slug between our check and the insert.
            if slug or _attempt == 2:
                raise SignupError(
                    "subdomain", _("This address is already taken. Please choose another one.")
                ) from None
    raise AssertionError("unreachable")


# --- E-mail verification -------------------------------------------------------------------

VERIFY_SALT = "saruna.accounts.verify-email"
VERIFY_MAX_AGE = timedelta(days=7)


def verification_token(account: Account, email: str) -> str:
    return signing.dumps({"a": account.pk, "e": email}, salt=VERIFY_SALT, compress=True)


def verification_url(account: Account, owner: User) -> str:
    path = reverse(
        "verify_email",
        urlconf=settings.SARUNA_TENANT_URLCONF,
        kwargs={"token": verification_token(account, owner.email)},
    )
    return public_url(account.host, path)


def send_verification_email(account: Account, owner: User) -> None:
    queue_email(
        owner.email,
        "web/email/verify",
        {
            "account": account,
            "owner": owner,
            "link": verification_url(account, owner),
            "account_url": account.url,
            "days": VERIFY_MAX_AGE.days,
        },
        account=account,
        language=owner.language or account.language,
    )


class VerificationError(ValueError):
    """The link is forged, expired or belongs to another account."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def owner_from_token(account: Account, token: str) -> User:
    """The owner a verification token names, checked against ``account``."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise VerificationError(
            _("This confirmation link has expired."), expired=True
        ) from None
    except signing.BadSignature:
        raise VerificationError(_("This confirmation link is not valid.")) from None
    if not isinstance(data, dict) or data.get("a") != account.pk:
        raise VerificationError(_("This confirmation link is not valid."))
    with scope(account=account):
        owner = User.objects.filter(
            account=account, email=data.get("e"), role=User.Role.OWNER, is_active=True
        ).first()
    if owner is None:
        raise VerificationError(_("This confirmation link is not valid."))
    return owner


def verify_account(
    account: Account, token: str, *, request: HttpRequest | None = None
) -> tuple[User, bool]:
    """Confirm the owner's e-mail: ``unverified`` → ``active``. Returns the owner and whether
    this call changed anything (False when the account was already confirmed)."""
    owner = owner_from_token(account, token)
    with transaction.atomic():
        changed = Account.objects.filter(
            pk=account.pk, status=Account.Status.UNVERIFIED
        ).update(status=Account.Status.ACTIVE, verified_at=timezone.now())
        if changed:
            account.refresh_from_db()
            with scope(account=account):
                audit.record(account, "account.verified", actor=owner, target=account,
                             request=request)
    return owner, bool(changed)
