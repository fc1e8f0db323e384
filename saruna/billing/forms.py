"""Forms of "My account", the lifetime-code signup and the provider's billing tools. They only
check input; the writes are in actions, prepaid, codes and provider."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from saruna.accounts.models import User
from saruna.billing.models import BillingProfile, Cycle
from saruna.core.models import Account, Plan
from saruna.web.forms import SignupForm

CSV_MAX_BYTES = 5 * 1024 * 1024


class BillingDetailsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    address = forms.CharField(
        label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One line per line of the address, as it should appear on invoices."),
    )
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False,
        validators=[RegexValidator(r"^[A-Za-z]{2}$", _("Use the two-letter country code."))],
        help_text=_("Two letters, such as LV, DE or US."),
    )
    email = forms.EmailField(label=_("Billing e-mail"), required=False)
    registration_number = forms.CharField(label=_("Company registration number"),
                                          max_length=64, required=False)
    vat_number = forms.CharField(label=_("VAT number"), max_length=20, required=False,
                                 help_text=_("EU businesses: with the country prefix, such as "
                                             "LV40003245752."))

    def __init__(self, *args: Any, profile: BillingProfile, **kwargs: Any) -> None:
        kwargs["initial"] = {
            "name": profile.name, "company": profile.company,
            "address": "\n".join(profile.address_lines), "country": profile.country,
            "email": profile.email, "registration_number": profile.registration_number,
            "vat_number": profile.vat_number,
        }
        super().__init__(*args, **kwargs)

    def details(self) -> dict[str, Any]:
        """The cleaned input as the billing actions take it. The VAT number only when it
        changed: saving it again would ask VIES again, and an unreachable VIES would turn a
        verified number into "not verified yet"."""
        data = self.cleaned_data
        details = {
            "name": data["name"].strip(), "company": data["company"].strip(),
            "address_lines": [line.strip() for line in data["address"].splitlines()
                              if line.strip()],
            "country": data["country"].upper(), "email": data["email"],
            "registration_number": data["registration_number"].strip(),
        }
        if "vat_number" in self.changed_data:
            details["vat_number"] = data["vat_number"]
        return details


class SubscriptionForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("Plan"), to_field_name="code", empty_label=None,
        # The billing catalogue's plans are the ones with limits (migration 0003 and the
        # provider's additions); other plans are kept only for older accounts.
        queryset=Plan.objects.filter(limits__isnull=False).order_by("name"),
    )
    cycle = forms.ChoiceField(label=_("Billing period"), choices=Cycle.choices)
    seats = forms.IntegerField(label=_("Agent seats"), min_value=1)


class PaymentMethodForm(forms.Form):
    """What the offline gateway's form posts: a card number, or ``paypal:<e-mail>``."""

    token = forms.CharField(label=_("Card number"), max_length=200,
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))


class CancelAccountForm(forms.Form):
    """The owner proves they mean it: the account's address and their own password."""

    slug = forms.CharField(label=_("The account's address (subdomain)"), max_length=63,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(
        label=_("Your password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args: Any, account: Account, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account, self.user = account, user

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        if slug != self.account.slug:
            raise ValidationError(_("This is not the account's address."))
        return slug

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("The password is not right."))
        return password


class PrepaidCreditForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=12, decimal_places=2)


class CodeSignupForm(SignupForm):
    """The signup for a lifetime code (terms §6): the code, first and last name, e-mail and the
    company, whose name makes the account's address, with the signup's own rules: password,
    18+ and terms, and its bot defences."""

    code = forms.CharField(label=_("Code"), max_length=64,
                           widget=forms.TextInput(attrs={"autocapitalize": "characters",
                                                         "spellcheck": "false"}))
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    full_name = None  # type: ignore[assignment]

    field_order = [
        "code", "first_name", "last_name", "email", "company", "subdomain", "password", "adult",
        "terms", "website", "started",
    ]

    def clean(self) -> dict[str, Any]:
        first = self.cleaned_data.get("first_name", "").strip()
        last = self.cleaned_data.get("last_name", "").strip()
        self.cleaned_data["full_name"] = f"{first} {last}".strip()
        return super().clean()


# --- The provider's tools ------------------------------------------------------------------------


class CodeImportForm(forms.Form):
    name = forms.CharField(label=_("Batch name"), max_length=200,
                           help_text=_("Where the codes were sold, e.g. “AppSumo 2026”."))
    redeem_by = forms.DateTimeField(
        label=_("Redeem by (UTC)"), input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"],
        help_text=_("The last moment a code of this batch can be redeemed, e.g. "
                    "2026-11-30 23:59."),
    )
    file = forms.FileField(label=_("CSV file"),
                           help_text=_("One code per row, in the first column."))

    def clean_redeem_by(self) -> datetime.datetime:
        moment: datetime.datetime = self.cleaned_data["redeem_by"]
        return moment.replace(tzinfo=datetime.UTC)

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > CSV_MAX_BYTES:
            raise ValidationError(_("The file is larger than 5 MB."))
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ValidationError(_("Save the file as UTF-8 text.")) from None


class LimitOverrideForm(forms.Form):
    max_agents = forms.IntegerField(label=_("Agent seats"), min_value=1, required=False)
    max_mailboxes = forms.IntegerField(label=_("Mailboxes"), min_value=0, required=False)
    max_chat_buttons = forms.IntegerField(label=_("Chat buttons"), min_value=0, required=False)
    history_days = forms.IntegerField(label=_("Days of history"), min_value=1, required=False)
    api_requests_per_minute = forms.IntegerField(label=_("API requests per minute"),
                                                 min_value=1, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("The customer sees this reason."))


class CreditNoteForm(ReasonForm):
    invoice = forms.CharField(label=_("Invoice number"), max_length=32)
