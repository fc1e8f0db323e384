"""Forms of the provider's public site: signup, finding an account, demo bookings."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from saruna.accounts.models import User
from saruna.accounts.signup import check_chosen_slug, slug_base
from saruna.core.models import Account
from saruna.core.timezones import zone_choices

BOT_ERROR = _(
    "We could not accept this form. Please check it, wait a few seconds and send it again."
)
STARTED_SALT = "saruna.web.form-started"
# A form older than this was not filled in by a person in one sitting; send a fresh one.
STARTED_MAX_AGE = 2 * 24 * 3600


def _stamp() -> str:
    return signing.dumps(time.time(), salt=STARTED_SALT)


class SiteForm(forms.Form):
    """Labels without the trailing colon: the site's style puts them above their fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class BotProtectedForm(SiteForm):
    """Turns bots away without third parties: a honeypot field people never see (the
    template hides it with the ``hp-field`` class) and a signed time stamp of when the form
    was shown, refused when the form comes back faster than a person could fill it."""

    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["started"].initial = _stamp()
        self.bot_suspected = False

    def _filled_by_a_person(self, started: str) -> bool:
        try:
            shown_at = float(signing.loads(started, salt=STARTED_SALT, max_age=STARTED_MAX_AGE))
        except (signing.BadSignature, TypeError, ValueError):
            return False
        return time.time() - shown_at >= settings.SARUNA_SIGNUP_MIN_SECONDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("website") or not self._filled_by_a_person(data.get("started") or ""):
            self.bot_suspected = True
            # A person who hit this (stale tab, too quick) gets a fresh stamp to try again.
            self.data = {**self.data, "started": _stamp()}
            raise ValidationError(BOT_ERROR, code="bot")
        return data


class SignupForm(BotProtectedForm):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"))
    company = forms.CharField(label=_("Company or organisation"), max_length=200)
    subdomain = forms.CharField(
        label=_("Account address"),
        required=False,
        max_length=63,
        help_text=_("Optional. Leave empty to use one made from your company name."),
    )
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    adult = forms.BooleanField(
        label=_("I am 18 or older"),
        error_messages={"required": _("You must be 18 or older to sign up.")},
    )
    terms = forms.BooleanField(
        label=_("I accept the Terms of Service"),
        error_messages={"required": _("Please accept the Terms of Service to continue.")},
    )

    field_order = [
        "full_name", "email", "company", "subdomain", "password", "adult", "terms",
        "website", "started",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Live preview of the account address; GET requests from an input send only the
        # fields named here, never the password.
        preview = {
            "hx-get": reverse("signup_slug_preview"),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": "#slug-preview",
            "hx-include": "[name=company],[name=subdomain]",
        }
        for name in ("company", "subdomain"):
            self.fields[name].widget.attrs.update(preview)
        self.fields["subdomain"].widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false"}
        )

    def clean_subdomain(self) -> str:
        subdomain = self.cleaned_data["subdomain"].strip().lower()
        if subdomain:
            problem = check_chosen_slug(subdomain)
            if problem:
                raise ValidationError(problem)
        return subdomain

    def clean_company(self) -> str:
        company = self.cleaned_data["company"].strip()
        if not company:
            raise ValidationError(_("Enter your company or organisation name."))
        return company

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("password")
        if password:
            person = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                validate_password(password, user=person)
            except ValidationError as error:
                self.add_error("password", error)
        return data


def account_from_address(text: str) -> Account | None:
    """The account someone means by ``acme``, ``acme.example.com:8000``,
    ``http://acme.example.com/...`` or its name (``Acme Ltd.``)."""
    text = text.strip()
    if not text:
        return None
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    except ValueError:  # not URL-shaped (e.g. a stray "["): try it as a name
        host = ""
    base = settings.SARUNA_BASE_DOMAIN
    candidates: list[str] = []
    if host.endswith("." + base):
        candidates.append(host[: -len(base) - 1])
    elif "." not in host and host:
        candidates.append(host)
    candidates.append(slug_base(text))
    accounts = Account.objects.exclude(status=Account.Status.CLOSED)
    for slug in candidates:
        account = accounts.filter(slug=slug).first()
        if account is not None:
            return account
    return accounts.filter(name__iexact=text).first()


class FindAccountForm(SiteForm):
    address = forms.CharField(
        label=_("Your account's address or name"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. acme")}),
    )

    def clean_address(self) -> Account:
        account = account_from_address(self.cleaned_data["address"])
        if account is None:
            raise ValidationError(
                _("We could not find that account. Check the address, or let us e-mail you "
                  "your accounts below.")
            )
        return account


class ForgotAccountForm(SiteForm):
    email = forms.EmailField(label=_("Your e-mail address"))


class DemoForm(BotProtectedForm):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"))
    company = forms.CharField(label=_("Company"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    preferred_times = forms.CharField(
        label=_("When would suit you?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: weekdays 10:00-12:00, or Tuesday afternoon."),
    )
    time_zone = forms.ChoiceField(label=_("Your time zone"), initial="UTC")
    message = forms.CharField(
        label=_("What would you like to see?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    field_order = [
        "name", "email", "company", "phone", "preferred_times", "time_zone", "message",
        "website", "started",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = zone_choices()  # type: ignore[attr-defined]
