"""The SLA level form of Settings → SLA levels: targets in minutes, opening hours per weekday,
holidays one date a line. It turns them into the arguments of
:func:`saruna.sla.actions.save_sla_level`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from saruna.core.timezones import zone_choices
from saruna.sla.business_time import WEEKDAYS, DayHours
from saruna.sla.models import Metric, SlaLevel
from saruna.tickets.models import Department
from saruna.tickets.settings_forms import ActionForm

DAY_NAMES = {
    "monday": _("Monday"), "tuesday": _("Tuesday"), "wednesday": _("Wednesday"),
    "thursday": _("Thursday"), "friday": _("Friday"), "saturday": _("Saturday"),
    "sunday": _("Sunday"),
}
_TIME = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


def _time_field(label: str) -> forms.RegexField:
    return forms.RegexField(
        label=label, regex=_TIME, required=False, max_length=5,
        error_messages={"invalid": _("Enter a time as HH:MM.")},
        widget=forms.TextInput(attrs={"placeholder": "09:00", "size": 5}),
    )


class SlaLevelForm(ActionForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_default = forms.BooleanField(
        label=_("Default level"), required=False,
        help_text=_("Applies to tickets of departments that no other level names."),
    )
    departments = forms.ModelMultipleChoiceField(
        Department.objects.none(), label=_("Departments"), required=False,
        to_field_name="public_id", widget=forms.CheckboxSelectMultiple,
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=())
    holidays = forms.CharField(
        label=_("Holidays"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One date a line, as YYYY-MM-DD. The clock stops on these days."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Querysets and choices are built per request: the account's scope is active then.
        self.fields["departments"].queryset = Department.objects.all()  # type: ignore[attr-defined]
        self.fields["time_zone"].choices = zone_choices()  # type: ignore[attr-defined]
        self.fields["time_zone"].initial = self.user.account.time_zone  # type: ignore[union-attr]
        for metric, label in Metric.choices:
            self.fields[metric] = forms.IntegerField(
                label=_("%(metric)s target (minutes)") % {"metric": label}, min_value=0,
                required=False, help_text=_("Empty: not measured."),
            )
        for day in WEEKDAYS:
            self.fields[f"{day}_start"] = _time_field(
                _("%(day)s opens") % {"day": DAY_NAMES[day]})
            self.fields[f"{day}_end"] = _time_field(
                _("%(day)s closes") % {"day": DAY_NAMES[day]})
        if self.instance is None:
            for day in WEEKDAYS[:5]:
                self.initial.setdefault(f"{day}_start", "09:00")
                self.initial.setdefault(f"{day}_end", "17:00")

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        assert isinstance(instance, SlaLevel)
        initial: dict[str, Any] = {
            "name": instance.name, "is_default": instance.is_default,
            "departments": list(instance.departments.all()), "time_zone": instance.time_zone,
            "holidays": "\n".join(instance.holidays),
        }
        for metric in Metric.values:
            seconds = instance.target(metric)
            initial[metric] = None if seconds is None else seconds // 60
        for day in WEEKDAYS:
            hours = instance.business_hours.get(day) or {}
            initial[f"{day}_start"] = hours.get("start", "")
            initial[f"{day}_end"] = hours.get("end", "")
        return initial

    def clean_holidays(self) -> list[str]:
        dates = []
        for line in self.cleaned_data["holidays"].split():
            try:
                dates.append(dt.date.fromisoformat(line).isoformat())
            except ValueError:
                raise forms.ValidationError(
                    _("%(value)s is not a date (YYYY-MM-DD).") % {"value": line}
                ) from None
        return sorted(set(dates))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        open_days = 0
        for day in WEEKDAYS:
            start, end = data.get(f"{day}_start"), data.get(f"{day}_end")
            if not start and not end:
                continue
            if not start or not end:
                self.add_error(f"{day}_end", _("Give both times, or neither for a closed day."))
                continue
            try:
                DayHours.parse(start, end)
            except ValueError:
                self.add_error(f"{day}_end", _("Closing must be later than opening."))
                continue
            open_days += 1
        if open_days == 0 and not self.errors:
            self.add_error(None, _("Open on at least one day."))
        return data

    def action_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields: dict[str, Any] = {
            key: data[key] for key in ("name", "is_default", "time_zone", "holidays")
        }
        fields["departments"] = list(data["departments"])
        for metric in Metric.values:
            fields[metric] = None if data[metric] is None else data[metric] * 60
        fields["business_hours"] = {
            day: {"start": data[f"{day}_start"], "end": data[f"{day}_end"]}
            if data.get(f"{day}_start") else None
            for day in WEEKDAYS
        }
        return {**fields, "actor": self.user}
