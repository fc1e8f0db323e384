"""Writing SLA levels, and noticing missed deadlines. One transaction each; bad input raises
ActionError and changes nothing. (SLA records are written by :mod:`saruna.sla.tracking` from
the ticket actions.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.contacts.common import ActionError, save_record
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.timezones import validate_zone_name
from saruna.sla import tracking
from saruna.sla.business_time import WEEKDAYS, Schedule
from saruna.sla.models import Metric, SlaLevel, SlaRecord

_WRITABLE = ("name", *Metric.values, "time_zone", "business_hours", "holidays", "is_default")


def save_sla_level(
    account: Account, level: SlaLevel | None = None, *, actor: User | None = None,
    **fields: Any,
) -> SlaLevel:
    """Creates or partially updates a level. ``departments`` (a list) replaces the departments
    it applies to; a department can have one level only. Making a level the default takes
    that role from the previous default."""
    _check(fields)
    with transaction.atomic():
        if fields.get("is_default"):
            others = SlaLevel.objects.filter(is_default=True)
            if level is not None:
                others = others.exclude(pk=level.pk)
            others.update(is_default=False)
        level = save_record(
            SlaLevel, account, level, fields, _WRITABLE,
            conflict=gettext("An SLA level with this name exists already."),
        )
        if "departments" in fields:
            departments = list(fields["departments"] or [])
            if any(d.account_id != account.pk for d in departments):
                raise ActionError(gettext("Unknown department."))
            taken = SlaLevel.objects.filter(departments__in=departments).exclude(pk=level.pk)
            if clash := taken.first():
                raise ActionError(
                    gettext("A department already has the SLA level %(name)s.")
                    % {"name": clash.name}, "conflict",
                )
            level.departments.set(departments)
        audit.record(account, "sla_level.saved", actor=actor, target=level)
    return level


def delete_sla_level(level: SlaLevel, *, actor: User | None = None) -> None:
    """Only a level no ticket was measured with: its records keep the history."""
    if level.records.exists():
        raise ActionError(
            gettext("Tickets were measured with this SLA level; it cannot be deleted."),
            "conflict",
        )
    with transaction.atomic():
        audit.record(level.account, "sla_level.deleted", actor=actor, target=level)
        level.delete()


# Records handled per account and run; the rest wait for the next run a minute later.
BREACH_BATCH = 500


def overdue(now: datetime) -> dict[str, Any]:
    """The filter of running records whose deadline passed by ``now``, not yet announced."""
    return {"date_closed__isnull": True, "date_due__lte": now, "breach_noticed_at__isnull": True}


def notice_breaches(now: datetime) -> int:
    """Announces every running record of the scope's account whose deadline has passed
    (``sla.breached``, once per record); answers how many this call announced."""
    due = SlaRecord.objects.filter(**overdue(now)).select_related("ticket", "level")
    noticed = 0
    for record in due.order_by("date_due", "pk")[:BREACH_BATCH]:
        with transaction.atomic():
            noticed += tracking.notice_breach(record, now)
    return noticed


def _check(fields: dict[str, Any]) -> None:
    for metric in Metric.values:
        value = fields.get(metric)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ActionError(gettext("A target time must be a whole number of seconds."))
    if "time_zone" in fields:
        try:
            validate_zone_name(fields["time_zone"])
        except ValidationError as error:
            raise ActionError(" ".join(error.messages)) from error
    if "business_hours" in fields or "holidays" in fields:
        hours = fields.get("business_hours") or {}
        if "business_hours" in fields and set(hours) != set(WEEKDAYS):
            raise ActionError(gettext("Business hours need all seven weekdays."))
        try:
            Schedule.from_config("UTC", hours or _all_day(), fields.get("holidays") or [])
        except (ValueError, TypeError, KeyError) as error:
            raise ActionError(
                gettext("Invalid business hours or holidays: %(error)s") % {"error": error}
            ) from error


def _all_day() -> dict[str, dict[str, str]]:
    return {day: {"start": "00:00", "end": "24:00"} for day in WEEKDAYS}
