"""The form of Settings → API keys: a name, the access (everything, reading only, or chosen
privileges), the addresses allowed to use the key and an optional end date."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from saruna.api import privileges


class ApiKeyForm(forms.Form):
    FULL, READ_ONLY, CHOSEN = "full", "read_only", "chosen"

    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("What uses the key, e.g. “CRM sync”."))
    access = forms.ChoiceField(
        label=_("Access"), widget=forms.RadioSelect, initial=FULL, choices=[
            (FULL, _("Full: read and change everything")),
            (READ_ONLY, _("Read only")),
            (CHOSEN, _("Only the privileges chosen below")),
        ])
    scopes = forms.MultipleChoiceField(
        label=_("Privileges"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(obj, [(f"{obj}.{p}", f"{obj}.{p}") for p in names])
                 for obj, names in privileges.VOCABULARY.items()])
    whitelist = forms.CharField(
        label=_("Allowed addresses"), max_length=1000, required=False, initial="*",
        help_text=_("Comma-separated IP addresses or ranges (CIDR); * allows any."))
    valid_to = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the key never expires."))

    def __init__(self, *args: Any, time_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("access") == self.CHOSEN and not data.get("scopes"):
            self.add_error("scopes", _("Choose at least one privilege."))
        return data

    def action_fields(self) -> dict[str, Any]:
        """The keyword arguments of :func:`saruna.api.actions.create_api_key`."""
        data = self.cleaned_data
        day = data.get("valid_to")
        return {
            "name": data["name"],
            "read_only": data["access"] == self.READ_ONLY,
            "scopes": data["scopes"] if data["access"] == self.CHOSEN else None,
            "whitelist": data.get("whitelist") or "*",
            # Valid through the chosen day, in the account's time zone.
            "valid_to": datetime.combine(day, time.max, ZoneInfo(self.time_zone)) if day else None,
        }
