"""The webhook form of Settings → Webhooks; :mod:`saruna.webhooks.actions` checks the URL."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from saruna.webhooks.models import Event, Webhook


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=_("URL"), max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/saruna-events"}),
        help_text=_("Events are POSTed here as signed JSON."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=Event.choices, widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, instance: Webhook | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs["initial"] = {
                "url": instance.url, "events": instance.events,
                "description": instance.description, "is_active": instance.is_active,
            }
        super().__init__(*args, **kwargs)
