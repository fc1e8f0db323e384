"""Business-time arithmetic: deadlines and elapsed time counted only inside opening hours.

Opening hours are wall-clock times in the level's time zone, one interval a weekday (or
closed), minus whole-day holidays. Durations are real seconds: on the night clocks go forward
an ``00:00`` to ``24:00`` day lasts 23 hours, and a deadline never lands in the missing hour.
Everything here is pure (no database), so it is tested on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A schedule with holidays beyond this many days ahead is treated as never open again.
HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class DayHours:
    """Opening time and closing time in minutes after local midnight (closing may be 1440)."""

    start: int
    end: int

    @classmethod
    def parse(cls, start: str, end: str) -> DayHours:
        """``HH:MM`` strings; ``24:00`` closes at the end of the day. Bad input: ValueError."""
        hours = cls(_minutes(start), _minutes(end))
        if hours.end <= hours.start:
            raise ValueError("the closing time must be later than the opening time")
        return hours

    def as_wire(self) -> dict[str, str]:
        return {"start": _hhmm(self.start), "end": _hhmm(self.end)}


def _minutes(text: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Schedule:
    """When the clock runs: ``days[0]`` is Monday; None = closed that day."""

    zone: ZoneInfo
    days: tuple[DayHours | None, ...]
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("a schedule has seven days")
        if not any(self.days):
            raise ValueError("a schedule needs at least one open day")

    @classmethod
    def always_open(cls, zone: str = "UTC") -> Schedule:
        return cls(ZoneInfo(zone), (DayHours(0, 24 * 60),) * 7)

    @classmethod
    def from_config(
        cls, zone: str, hours: Mapping[str, Mapping[str, str] | None], holidays: Iterable[str]
    ) -> Schedule:
        """From the stored form: ``{"monday": {"start": "09:00", "end": "17:00"}, ...}`` and
        ISO dates."""
        days = tuple(
            DayHours.parse(h["start"], h["end"]) if (h := hours.get(day)) else None
            for day in WEEKDAYS
        )
        return cls(ZoneInfo(zone), days, frozenset(dt.date.fromisoformat(d) for d in holidays))

    def _local(self, day: dt.date, minutes: int) -> dt.datetime:
        wall = dt.datetime.combine(day, dt.time(), tzinfo=self.zone)
        if minutes == 24 * 60:
            wall = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self.zone)
        else:
            wall = wall.replace(hour=minutes // 60, minute=minutes % 60)
        # A wall time in the spring-forward gap resolves (fold=0) to the moment after it.
        return wall.astimezone(dt.UTC)

    def windows(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open intervals in UTC from ``start`` on, the first one clipped to ``start``."""
        start = start.astimezone(dt.UTC)
        first_day = start.astimezone(self.zone).date()
        for offset in range(HORIZON_DAYS):
            day = first_day + dt.timedelta(days=offset)
            hours = self.days[day.weekday()]
            if hours is None or day in self.holidays:
                continue
            opens, closes = self._local(day, hours.start), self._local(day, hours.end)
            if closes > start:
                yield max(opens, start), closes

    def add(self, start: dt.datetime, seconds: int) -> dt.datetime | None:
        """The moment ``seconds`` of business time after ``start`` (None if the schedule never
        opens again within the horizon). Zero seconds is the next open moment."""
        remaining = dt.timedelta(seconds=seconds)
        for opens, closes in self.windows(start):
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        return None

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole business seconds between ``start`` and ``end`` (0 if end is not later)."""
        total = dt.timedelta()
        end = end.astimezone(dt.UTC)
        for opens, closes in self.windows(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return int(total.total_seconds())
