"""The provider's public site on the base domain: landing page, signup, finding an account,
terms and privacy, the cookie notice and demo bookings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import markdown
import nh3
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scope

from saruna.accounts.models import User
from saruna.accounts.signup import (
    SignupError,
    check_chosen_slug,
    create_account,
    send_verification_email,
    suggest_slug,
)
from saruna.core import ratelimit
from saruna.core.ids import new_id
from saruna.core.models import Account
from saruna.core.net import client_ip, network_of
from saruna.core.outbox import queue_email
from saruna.core.urls import public_url
from saruna.web.demo import book_demo
from saruna.web.forms import (
    BotProtectedForm,
    DemoForm,
    FindAccountForm,
    ForgotAccountForm,
    SignupForm,
)
from saruna.web.models import CookieConsent

SIGNUP_SESSION_KEY = "saruna_signup_account"
RESEND_LIMIT = "3/h"
FORGOT_LIMIT = "5/h"
DEMO_LIMIT = "5/h"
CONSENT_COOKIE = "saruna_consent"
CONSENT_MAX_AGE = timedelta(days=365)


def _too_many() -> str:
    return _("Too many attempts from your network. Please try again later.")


def _accepted(form: BotProtectedForm, key: str, limit: str) -> bool:
    """Validate a bot-protected form and apply the per-client rate limit. Only submissions
    that would create something (or look like bots) count, so a person correcting typos is
    never locked out."""
    valid = form.is_valid()
    if valid or form.bot_suspected:
        allowed = ratelimit.hit(key, limit)
        if valid and not allowed:
            form.add_error(None, _too_many())
            return False
    return valid


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "web/landing.html")


# --- Signup ------------------------------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    return signup_page(
        request, SignupForm(request.POST or None), "web/signup.html",
        lambda data: create_account(
            company=data["company"], full_name=data["full_name"], email=data["email"],
            password=data["password"], slug=data["subdomain"] or None, request=request,
        ),
    )


def signup_page(
    request: HttpRequest, form: Any, template: str, create: Callable[[dict[str, Any]], Any]
) -> HttpResponse:
    """A signup form (plain, or with a lifetime code): bot and rate checks, then ``create``
    with the cleaned data; its refusals become form errors."""
    if request.method == "POST" and _accepted(
        form, f"signup:{ratelimit.client_key(request)}", settings.SARUNA_SIGNUP_RATE_LIMIT
    ):
        try:
            new = create(form.cleaned_data)
        except SignupError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except ValidationError as error:
            form.add_error("password", error)
        else:
            request.session[SIGNUP_SESSION_KEY] = new.account.pk
            return redirect("signup_done")
    return render(request, template, {"form": form, **_preview(request)})


def _preview(request: HttpRequest) -> dict[str, str]:
    """The account address a signup would get, or why the chosen one cannot be had."""
    source = request.POST if request.method == "POST" else request.GET
    company = source.get("company", "").strip()[:200]
    subdomain = source.get("subdomain", "").strip().lower()[:63]
    if subdomain:
        problem = check_chosen_slug(subdomain)
        if problem:
            return {"preview_error": problem}
        return {"preview_url": public_url(f"{subdomain}.{settings.SARUNA_BASE_DOMAIN}")}
    if company:
        slug = suggest_slug(company)
        return {"preview_url": public_url(f"{slug}.{settings.SARUNA_BASE_DOMAIN}")}
    return {}


@require_GET
def slug_preview(request: HttpRequest) -> HttpResponse:
    """HTMX fragment under the signup form: the address the account will get."""
    return render(request, "web/_slug_preview.html", _preview(request))


def _signed_up_account(request: HttpRequest) -> Account | None:
    account_id = request.session.get(SIGNUP_SESSION_KEY)
    return Account.objects.filter(pk=account_id).first() if account_id else None


@require_GET
def signup_done(request: HttpRequest) -> HttpResponse:
    account = _signed_up_account(request)
    if account is None:
        return redirect("signup")
    with scope(account=account):
        owner = User.objects.filter(role=User.Role.OWNER).first()
    return render(request, "web/signup_done.html", {"new_account": account, "owner": owner})


@require_POST
def signup_resend(request: HttpRequest) -> HttpResponse:
    account = _signed_up_account(request)
    if account is None:
        return redirect("signup")
    if account.status != Account.Status.UNVERIFIED:
        messages.info(request, _("Your e-mail address is already confirmed. You can log in."))
    elif not ratelimit.hit(f"signup-resend:{account.pk}", RESEND_LIMIT):
        messages.error(request, _("We have sent several e-mails already. Please try later."))
    else:
        with scope(account=account):
            owner = User.objects.get(role=User.Role.OWNER)
            send_verification_email(account, owner)
        messages.success(request, _("We sent the confirmation e-mail again."))
    return redirect("signup_done")


# --- Finding an account ----------------------------------------------------------------------


def find_account(request: HttpRequest) -> HttpResponse:
    form = FindAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account: Account = form.cleaned_data["address"]
        return redirect(public_url(account.host, "/login/"))
    return render(
        request, "web/find_account.html", {"form": form, "forgot_form": ForgotAccountForm()}
    )


@require_POST
def forgot_account(request: HttpRequest) -> HttpResponse:
    form = ForgotAccountForm(request.POST)
    if not form.is_valid():
        return render(request, "web/find_account.html",
                      {"form": FindAccountForm(), "forgot_form": form})
    email = form.cleaned_data["email"].strip().lower()
    if not (
        ratelimit.hit(f"forgot:{ratelimit.client_key(request)}", FORGOT_LIMIT)
        and ratelimit.hit(f"forgot-email:{email}", RESEND_LIMIT)
    ):
        messages.error(request, _too_many())
        return redirect("find_account")
    # The same answer whether or not the address is known: the page must not tell strangers
    # who has an account. Mail goes only to an address that has some.
    accounts = [
        user.account
        for user in User.objects.with_scopes_disabled()
        .filter(email=email, is_active=True, account__isnull=False)
        .exclude(account__status=Account.Status.CLOSED)
        .select_related("account")
        .order_by("account__name")
    ]
    if accounts:
        queue_email(
            email,
            "web/email/account_list",
            {"accounts": [(a.name, public_url(a.host, "/login/")) for a in accounts]},
        )
    messages.success(
        request,
        _("If %(email)s belongs to any Saruna account, we have e-mailed you their addresses.")
        % {"email": email},
    )
    return redirect("find_account")


# --- Terms, privacy and cookies ---------------------------------------------------------------


def _content_file(name: str) -> Path | None:
    """The operator's Markdown file for the current language, else the English one."""
    directory = Path(settings.SARUNA_CONTENT_DIR)
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    for candidate in (directory / f"{name}.{language}.md", directory / f"{name}.md"):
        if candidate.is_file():
            return candidate
    return None


def _content_page(request: HttpRequest, name: str, title: str) -> HttpResponse:
    source = _content_file(name)
    if source is None:
        raise Http404
    # Operator content is trusted, but a pasted <script> should still never reach visitors.
    html = nh3.clean(markdown.markdown(source.read_text(encoding="utf-8"),
                                       extensions=["extra", "sane_lists"]))
    return render(request, "web/content_page.html", {"title": title, "html": html})


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return _content_page(request, "terms", _("Terms of Service"))


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return _content_page(request, "privacy", _("Privacy policy"))


@require_POST
def cookie_consent(request: HttpRequest) -> HttpResponse:
    choice = request.POST.get("choice")
    if choice not in {"all", "necessary"}:
        return HttpResponseBadRequest(_("Choose “Accept all” or “Necessary only”."))
    # One id per browser, so a changed answer is recorded against the same visitor.
    previous = request.COOKIES.get(CONSENT_COOKIE, "").split(":")[0]
    consent_id = previous if previous.isalnum() and len(previous) == 16 else new_id(16)
    consent = CookieConsent.objects.create(
        consent_id=consent_id,
        analytics=choice == "all",
        policy_version=settings.SARUNA_TERMS_VERSION,
        ip_network=network_of(client_ip(request)),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
    if request.htmx:  # type: ignore[attr-defined]
        response = HttpResponse("")  # the notice's outerHTML is swapped for nothing
    else:
        target = request.POST.get("next", "/")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        response = redirect(target)
    response.set_cookie(
        CONSENT_COOKIE,
        f"{consent.consent_id}:{int(consent.analytics)}",
        max_age=int(CONSENT_MAX_AGE.total_seconds()),
        samesite="Lax",
        httponly=True,
        secure=settings.SARUNA_PUBLIC_SCHEME == "https",
    )
    return response


# --- Schedule a demo ---------------------------------------------------------------------


def demo(request: HttpRequest) -> HttpResponse:
    form = DemoForm(request.POST or None)
    if request.method == "POST" and _accepted(
        form, f"demo:{ratelimit.client_key(request)}", DEMO_LIMIT
    ):
        book_demo({
            field: form.cleaned_data[field]
            for field in ("name", "email", "company", "phone", "preferred_times",
                          "time_zone", "message")
        })
        return redirect("demo_thanks")
    return render(request, "web/demo.html", {"form": form})


@require_GET
def demo_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "web/demo_thanks.html")
