"""Forms of the contact pages. They check input and shape it into the keyword arguments of
:mod:`saruna.contacts.actions`, which write."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import global_settings
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saruna.contacts.models import (
    Company,
    Contact,
    ContactEmail,
    ContactGroup,
    CustomField,
    Party,
    normalize_email,
)
from saruna.core.timezones import zone_choices
from saruna.tickets.models import Tag
from saruna.tickets.settings_forms import ActionForm, colour_field

CUSTOM_PREFIX = "cf_"


def offset_label(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


# Contacts carry a UTC offset (the API's ``time_offset``), in quarter hours from -12 to +14.
OFFSET_CHOICES = [(s, offset_label(s)) for s in range(-12 * 3600, 14 * 3600 + 1, 900)]


def _lines(text: str) -> list[str]:
    """One value a line (commas also separate, as people paste lists)."""
    parts = (p.strip() for line in text.splitlines() for p in line.split(","))
    return [p for p in parts if p]


class PartyForm(ActionForm):
    """What contacts and companies share; ``owner_field`` says which one it edits."""

    owner_field = "contact"
    target = CustomField.Target.CONTACT

    system_name = forms.CharField(
        label=_("Display name"), max_length=255, required=False,
        help_text=_("Leave empty to use the name or the first e-mail address."),
    )
    emails = forms.CharField(
        label=_("E-mail addresses"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line; the first is the main address."),
    )
    phones = forms.CharField(
        label=_("Phone numbers"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line."),
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    time_offset = forms.TypedChoiceField(
        label=_("UTC offset"), required=False, coerce=int, empty_value=None,
        choices=[("", "—"), *OFFSET_CHOICES],
        help_text=_("Used only when no time zone is chosen; a browser reports it in chats."),
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    countrycode = forms.CharField(
        label=_("Country code"), max_length=2, required=False,
        widget=forms.TextInput(attrs={"placeholder": "LV", "size": 3}),
    )
    groups = forms.ModelMultipleChoiceField(
        ContactGroup.objects.none(), label=_("Groups"), required=False,
        to_field_name="public_id", widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Querysets are built here: the account's scope is active only during a request.
        self.fields["groups"].queryset = ContactGroup.objects.all()  # type: ignore[attr-defined]
        languages = dict(global_settings.LANGUAGES)
        current = self.initial.get("language") or ""
        if current and current not in languages:  # keep a code the API stored as it is
            languages[current] = current
        self.fields["language"].choices = [("", "—"), *sorted(  # type: ignore[attr-defined]
            languages.items(), key=lambda item: str(item[1])
        )]
        self.fields["time_zone"].choices = [("", "—"), *zone_choices()]  # type: ignore[attr-defined]
        offset = self.initial.get("time_offset")
        if offset is not None and offset not in dict(OFFSET_CHOICES):  # e.g. a browser's odd offset
            self.fields["time_offset"].choices = [  # type: ignore[attr-defined]
                *self.fields["time_offset"].choices, (offset, offset_label(offset))  # type: ignore[attr-defined]
            ]
        self.custom_fields = list(CustomField.objects.filter(target=self.target))
        values = self.instance.custom_fields if self.instance is not None else {}  # type: ignore[attr-defined]
        for definition in self.custom_fields:
            name = CUSTOM_PREFIX + definition.code
            self.fields[name] = _custom_form_field(definition)
            if definition.code in values:
                self.initial[name] = _custom_initial(definition, values[definition.code])

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        assert isinstance(instance, Party)
        return {
            **super().initial_from(instance),
            "emails": "\n".join(instance.email_list()),
            "phones": "\n".join(instance.phone_list()),
            "groups": list(instance.groups.all()),  # type: ignore[attr-defined]
        }

    def clean_emails(self) -> list[str]:
        addresses = _lines(self.cleaned_data["emails"])
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(
                    gettext("Not an e-mail address: %(address)s") % {"address": address}
                ) from None
        # Named here with a link, before the action refuses with the bare id.
        taken = (
            ContactEmail.objects.filter(
                normalized__in=[normalize_email(a) for a in addresses],
                **{f"{self.owner_field}__isnull": False},
            )
            .exclude(**{self.owner_field: self.instance})
            .select_related(self.owner_field)
            .first()
        )
        if taken is not None:
            other = getattr(taken, self.owner_field)
            view = "contact_detail" if self.owner_field == "contact" else "company_edit"
            key = "contact_id" if self.owner_field == "contact" else "company_id"
            raise forms.ValidationError(format_html(
                gettext("{address} already belongs to <a href=\"{url}\">{name}</a>."),
                address=taken.email, name=str(other),
                url=reverse(view, kwargs={key: other.public_id}),
            ))
        return addresses

    def clean_phones(self) -> list[str]:
        return _lines(self.cleaned_data["phones"])

    def action_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        custom = {
            d.code: _custom_value(data.pop(CUSTOM_PREFIX + d.code, None))
            for d in self.custom_fields
        }
        if "system_name" not in self.changed_data:
            # Untouched, a derived display name follows the names it came from.
            data.pop("system_name")
        return {**data, "custom_fields": custom, "actor": self.user}


def _custom_form_field(definition: CustomField) -> forms.Field:
    common: dict[str, Any] = {"label": definition.name, "required": False}
    match definition.type:
        case CustomField.Type.NUMBER:
            return forms.DecimalField(**common)
        case CustomField.Type.DATE:
            return forms.DateField(**common, widget=forms.DateInput(attrs={"type": "date"}))
        case CustomField.Type.CHOICE:
            return forms.ChoiceField(
                **common, choices=[("", "—"), *((c, c) for c in definition.choices)]
            )
        case CustomField.Type.CHECKBOX:
            return forms.BooleanField(**common)
    return forms.CharField(**common, max_length=1000)


def _custom_initial(definition: CustomField, value: str) -> Any:
    if definition.type == CustomField.Type.CHECKBOX:
        return value not in ("", "0", "false")
    return value


def _custom_value(value: Any) -> str | None:
    """Custom values are stored as text; ``None`` clears one."""
    if value in (None, "", False):
        return None
    if value is True:
        return "1"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


class ContactForm(PartyForm):
    firstname = forms.CharField(label=_("First name"), max_length=100, required=False)
    lastname = forms.CharField(label=_("Last name"), max_length=100, required=False)
    job_position = forms.CharField(label=_("Job position"), max_length=200, required=False)
    company = forms.ModelChoiceField(
        Company.objects.none(), label=_("Company"), required=False, to_field_name="public_id"
    )
    tags = forms.ModelMultipleChoiceField(
        Tag.objects.none(), label=_("Tags"), required=False, to_field_name="public_id",
        widget=forms.CheckboxSelectMultiple,
    )

    field_order = [
        "firstname", "lastname", "system_name", "emails", "phones", "company", "job_position",
        "language", "time_zone", "time_offset", "city", "countrycode", "groups", "tags", "note",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.all()  # type: ignore[attr-defined]
        # Archived tags cannot be added; the contact's own stay selectable so saving keeps them.
        addable = Q(is_archived=False)
        if self.instance is not None:
            addable |= Q(contacts=self.instance)
        self.fields["tags"].queryset = Tag.objects.filter(addable).distinct()  # type: ignore[attr-defined]

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        assert isinstance(instance, Contact)
        return {**super().initial_from(instance), "tags": list(instance.tags.all())}


class CompanyForm(PartyForm):
    owner_field = "company"
    target = CustomField.Target.COMPANY

    name = forms.CharField(label=_("Name"), max_length=255)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    field_order = [
        "name", "system_name", "emails", "phones", "language", "time_zone", "time_offset", "city",
        "countrycode", "groups", "description", "note",
    ]


class ContactSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, widget=forms.SearchInput(
        attrs={"placeholder": _("Name or e-mail")}))
    group = forms.ModelChoiceField(
        ContactGroup.objects.none(), label=_("Group"), required=False,
        to_field_name="public_id", empty_label=_("All groups"),
    )
    company = forms.ModelChoiceField(
        Company.objects.none(), label=_("Company"), required=False,
        to_field_name="public_id", empty_label=_("All companies"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = ContactGroup.objects.all()  # type: ignore[attr-defined]
        self.fields["company"].queryset = Company.objects.all()  # type: ignore[attr-defined]

    def filter(self, contacts: models.QuerySet[Contact]) -> models.QuerySet[Contact]:
        if not self.is_valid():
            return contacts
        data = self.cleaned_data
        if data["q"]:
            text = data["q"].strip()
            contacts = contacts.filter(
                pk__in=Contact.objects.filter(
                    Q(system_name__icontains=text) | Q(firstname__icontains=text)
                    | Q(lastname__icontains=text) | Q(emails__normalized__icontains=text)
                ).values("pk")
            )
        if data["group"]:
            contacts = contacts.filter(groups=data["group"])
        if data["company"]:
            contacts = contacts.filter(company=data["company"])
        return contacts


class DeleteContactForm(forms.Form):
    delete_tickets = forms.BooleanField(
        label=_("Also move this contact's tickets to the trash"), required=False
    )


class ContactGroupForm(ActionForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    color = colour_field(_("Text colour"))
    background_color = colour_field(_("Background colour"))
