"""Billing periods: calendar dates in the account's time zone, anchored on the day the first
paid period started, so month ends never drift (31 Jan → 28/29 Feb → 31 Mar)."""

from __future__ import annotations

import calendar
import datetime
import zoneinfo

from django.utils import timezone

from saruna.core.models import Account

MONTHS = {"monthly": 1, "annual": 12}


def add_months(start: datetime.date, months: int, anchor_day: int) -> datetime.date:
    """The date ``months`` after ``start`` on the anchor day, or the month's last day when the
    month is shorter."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def period_end(start: datetime.date, cycle: str, anchor_day: int) -> datetime.date:
    """The first day after the period that starts on ``start`` (the next period's start)."""
    return add_months(start, MONTHS[cycle], anchor_day)


def local_date(account: Account, moment: datetime.datetime | None = None) -> datetime.date:
    """The calendar date in the account's time zone at ``moment`` (now by default)."""
    moment = moment or timezone.now()
    return moment.astimezone(zoneinfo.ZoneInfo(account.time_zone)).date()


def start_of_day(account: Account, day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the account's time zone, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time(), zoneinfo.ZoneInfo(account.time_zone))
