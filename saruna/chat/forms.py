"""The owner's chat screens: a chat button (texts per language, form fields, schedule) and the
account's routing settings."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from saruna.accounts.models import User
from saruna.chat.models import ChatButton, ChatSettings, Position
from saruna.core.ids import new_id
from saruna.tickets.models import Department
from saruna.web.forms import SiteForm

# The texts a button shows; each may differ per language, and an empty one is the built-in.
TEXT_KEYS = {
    "title": _("Button and window title"),
    "greeting": _("Greeting above the chat"),
    "offline_title": _("Title when nobody is available"),
    "offline_greeting": _("Text above the offline form"),
}
WEEKDAYS = {
    "mon": _("Monday"), "tue": _("Tuesday"), "wed": _("Wednesday"), "thu": _("Thursday"),
    "fri": _("Friday"), "sat": _("Saturday"), "sun": _("Sunday"),
}
HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class FieldKind:
    """What a form row asks. Name, e-mail and message have fixed keys, which the chat uses
    for the contact and the first message; other questions get a key of their own."""

    NAME, EMAIL, MESSAGE = "name", "email", "message"
    TEXT, TEXTAREA, SELECT = "text", "textarea", "select"
    choices = [
        (NAME, _("Name")), (EMAIL, _("E-mail address")), (MESSAGE, _("Message")),
        (TEXT, _("Other question: a line of text")),
        (TEXTAREA, _("Other question: longer text")),
        (SELECT, _("Other question: a choice from a list")),
    ]
    types = {NAME: "text", EMAIL: "email", MESSAGE: "textarea"}


def kind_of(spec: dict[str, Any]) -> str:
    return spec["name"] if spec["name"] in FieldKind.types else spec["type"]


class FieldRowForm(SiteForm):
    """One field of the pre-chat or offline form; a row left without a label is ignored."""

    key = forms.CharField(widget=forms.HiddenInput, required=False)
    label = forms.CharField(label=_("Label"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Asks for"), choices=FieldKind.choices,
                             initial=FieldKind.TEXT)
    options = forms.CharField(
        label=_("Choices, one per line"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Only for a choice from a list."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)

    def clean_options(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["options"].splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("label") and data.get("kind") == FieldKind.SELECT and not data.get("options"):
            self.add_error("options", _("Give at least one choice."))
        return data

    def spec(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("label") or data.get("DELETE"):
            return None
        kind = data["kind"]
        name = kind if kind in FieldKind.types else (
            data.get("key") if str(data.get("key", "")).startswith("q_") else f"q_{new_id(6)}")
        return {
            "name": name, "label": data["label"], "type": FieldKind.types.get(kind, kind),
            "required": data["required"],
            "options": data["options"] if kind == FieldKind.SELECT else [],
        }


class BaseFieldRowFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        fixed = [
            form.cleaned_data["kind"] for form in self.forms
            if form.cleaned_data.get("label") and not form.cleaned_data.get("DELETE")
            and form.cleaned_data["kind"] in FieldKind.types
        ]
        if len(fixed) != len(set(fixed)):
            raise ValidationError(_("Ask for the name, the e-mail address and the message once "
                                    "each."))


FieldRowFormSet = forms.formset_factory(
    FieldRowForm, formset=BaseFieldRowFormSet, extra=2, can_delete=True, max_num=20
)


def field_specs(rows: forms.BaseFormSet) -> list[dict[str, Any]]:
    """The rows of a valid formset as the button stores them."""
    return [spec for form in rows.forms if (spec := form.spec()) is not None]


def rows_initial(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": spec["name"], "label": spec["label"], "kind": kind_of(spec),
             "options": "\n".join(spec.get("options", [])),
             "required": bool(spec.get("required"))} for spec in specs]


def default_fields(*, message_required: bool) -> list[dict[str, Any]]:
    """A new button's forms: who the visitor is and what they want."""
    return [
        {"name": "name", "label": str(_("Your name")), "type": "text", "required": False},
        {"name": "email", "label": str(_("Your e-mail address")), "type": "email",
         "required": message_required},
        {"name": "message", "label": str(_("Your question")), "type": "textarea",
         "required": message_required},
    ]


def _parse_hours(text: str) -> list[list[str]]:
    ranges = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        match = HOURS.match(part)
        if match is None or match.group(1, 2) >= match.group(3, 4):
            raise ValidationError(_("Write hours like 09:00-17:00, several separated by "
                                    "commas."))
        ranges.append([f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"])
    return ranges


class ChatButtonForm(SiteForm):
    """A chat button's settings. Texts have one field per language and text
    (``text_<language>_<key>``); the schedule one field per weekday (``hours_<day>``)."""

    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("For you and your team; visitors do not see it."))
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none(),
                                        empty_label=None)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    position = forms.ChoiceField(label=_("Position on the page"), choices=Position.choices)
    background = forms.CharField(label=_("Button colour"), initial="#1f6feb",
                                 widget=forms.TextInput(attrs={"type": "color"}))
    text_color = forms.CharField(label=_("Text colour on the button"), initial="#ffffff",
                                 widget=forms.TextInput(attrs={"type": "color"}))
    always = forms.BooleanField(
        label=_("Available at all hours"), required=False, initial=True,
        help_text=_("Otherwise only in the hours below (your account's time zone), when an "
                    "agent is online."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.all()  # type: ignore[attr-defined]
        for code, language in settings.LANGUAGES:
            for key, label in TEXT_KEYS.items():
                self.fields[f"text_{code}_{key}"] = forms.CharField(
                    label=f"{label} ({language})", required=False, max_length=500,
                    widget=forms.Textarea(attrs={"rows": 2}) if "greeting" in key else None,
                )
        for day, label in WEEKDAYS.items():
            self.fields[f"hours_{day}"] = forms.CharField(
                label=label, required=False, max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "09:00-17:00"}),
            )

    def language_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(str(language), [self[f"text_{code}_{key}"] for key in TEXT_KEYS])
                for code, language in settings.LANGUAGES]

    def hours_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "department", "enabled", "position",
                                        "background", "text_color")]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("background", "text_color"):
            if name in data and not COLOR.match(data[name]):
                self.add_error(name, _("Choose a colour like #1f6feb."))
        schedule = {}
        for day in WEEKDAYS:
            try:
                hours = _parse_hours(data.get(f"hours_{day}", ""))
            except ValidationError as error:
                self.add_error(f"hours_{day}", error)
                continue
            if hours:
                schedule[day] = hours
        if not data.get("always") and not schedule and not self.errors:
            self.add_error("always", _("Give the hours of at least one day, or choose all "
                                       "hours."))
        data["schedule"] = {} if data.get("always") else schedule
        return data

    def texts(self) -> dict[str, dict[str, str]]:
        texts: dict[str, dict[str, str]] = {}
        for code, _language in settings.LANGUAGES:
            values = {key: value.strip() for key in TEXT_KEYS
                      if (value := self.cleaned_data.get(f"text_{code}_{key}", ""))}
            if values:
                texts[code] = values
        return texts

    def action_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"], "department": data["department"], "enabled": data["enabled"],
            "position": data["position"], "schedule": data["schedule"], "texts": self.texts(),
            "colors": {"background": data["background"].lower(),
                       "text": data["text_color"].lower()},
        }

    @classmethod
    def initial_for(cls, button: ChatButton) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": button.name, "department": button.department, "enabled": button.enabled,
            "position": button.position, "always": not button.schedule,
            "background": button.colors.get("background", "#1f6feb"),
            "text_color": button.colors.get("text", "#ffffff"),
        }
        for code, values in button.texts.items():
            for key, value in values.items():
                initial[f"text_{code}_{key}"] = value
        for day, ranges in button.schedule.items():
            initial[f"hours_{day}"] = ", ".join(f"{start}-{end}" for start, end in ranges)
        return initial


class ChatSettingsForm(forms.ModelForm):
    """How chats are routed. For the priority method each agent may get a number: lower
    numbers are rung first, agents without one after them (``priority_<user id>``)."""

    class Meta:
        model = ChatSettings
        fields = ["routing_method", "ring_seconds", "wait_limit", "max_queue",
                  "default_max_chats", "away_grace_seconds"]
        labels = {"away_grace_seconds": _("Grace period after an agent's browser goes away "
                                          "(seconds)")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name in ("ring_seconds", "wait_limit", "default_max_chats"):
            self.fields[name].widget.attrs["min"] = 1
        self.agents = list(User.objects.filter(is_active=True).order_by("full_name", "pk"))
        order = self.instance.priority_order
        for user in self.agents:
            self.fields[f"priority_{user.pk}"] = forms.IntegerField(
                label=user.full_name or user.email, required=False, min_value=1,
                initial=order.index(user.pk) + 1 if user.pk in order else None,
            )

    def priority_fields(self) -> list[forms.BoundField]:
        return [self[f"priority_{user.pk}"] for user in self.agents]

    def setting_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.Meta.fields]

    def clean_ring_seconds(self) -> int:
        value = self.cleaned_data["ring_seconds"]
        if value < 5:
            raise ValidationError(_("Ring for at least 5 seconds."))
        return int(value)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("wait_limit", "default_max_chats"):
            if data.get(name) == 0:
                self.add_error(name, _("Give a number of at least 1."))
        return data

    def action_fields(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        numbered = [(number, user.full_name, user.pk) for user in self.agents
                    if (number := self.cleaned_data.get(f"priority_{user.pk}")) is not None]
        return data | {"priority_order": [pk for _number, _name, pk in sorted(numbered)]}
