"""Forms for logging in and managing the people of an account. They validate input; the
writes happen in :mod:`saruna.accounts.actions`."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from saruna.accounts import actions, totp
from saruna.accounts.models import Invitation, User
from saruna.core.timezones import zone_choices

ROLE_CHOICES = [(User.Role.AGENT, User.Role.AGENT.label), (User.Role.ADMIN, User.Role.ADMIN.label)]


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User | None = None

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        email, password = data.get("email"), data.get("password")
        if not email or password is None:
            return data
        if actions.login_blocked(self.request, email):
            raise forms.ValidationError(
                _("Too many failed attempts. Please wait 15 minutes, or reset your password."),
                code="throttled",
            )
        self.user = authenticate(self.request, email=email, password=password)  # type: ignore[assignment]
        if self.user is None:
            actions.record_failed_login(self.request, email, reason="password")
            raise forms.ValidationError(
                _("The e-mail or password is not correct."), code="invalid_login"
            )
        return data


class CodeField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("6-digit code from your authenticator app"))
        super().__init__(
            max_length=7,
            widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                          "autofocus": True, "pattern": r"\d{3} ?\d{3}"}),
            **kwargs,
        )


class TotpLoginForm(forms.Form):
    """The second login step; wrong codes count as failed logins."""

    code = CodeField()

    def __init__(self, request: HttpRequest, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = user

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if actions.login_blocked(self.request, self.user.email):
            raise forms.ValidationError(
                _("Too many failed attempts. Please wait 15 minutes and log in again."),
                code="throttled",
            )
        if not totp.verify(self.user, code):
            actions.record_failed_login(self.request, self.user.email, reason="totp")
            raise forms.ValidationError(
                _("That code is not correct, or it was already used. Wait for the next one."),
                code="invalid_code",
            )
        return code


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True}))


def _time_zone_choices() -> list[tuple[str, Any]]:
    return [("", _("The account's time zone")), *zone_choices()]


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    language = forms.ChoiceField(label=_("Language"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = [
            ("", _("My browser's language")), *settings.LANGUAGES
        ]
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = _time_zone_choices()

    def clean_full_name(self) -> str:
        name: str = self.cleaned_data["full_name"].strip()
        if not name:
            raise forms.ValidationError(_("Please enter your name."))
        return name


class TotpConfirmForm(forms.Form):
    code = CodeField()


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=User.Role.AGENT)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    adult = forms.BooleanField(
        label=_("I am 18 or older"),
        error_messages={"required": _("You must be 18 or older to use Saruna.")},
    )

    def __init__(self, invitation: Invitation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean_full_name(self) -> str:
        name: str = self.cleaned_data["full_name"].strip()
        if not name:
            raise forms.ValidationError(_("Please enter your name."))
        return name

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords are different."))
        elif first:
            # The validators compare the password with the person's name and address.
            person = User(email=self.invitation.email, full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(first, person)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class AuditFilterForm(forms.Form):
    verb = forms.ChoiceField(label=_("Event"), required=False)

    def __init__(self, verbs: list[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["verb"]).choices = [("", _("All events")), *verbs]
