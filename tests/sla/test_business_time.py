"""Business-time arithmetic: deadlines and elapsed time inside opening hours."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from saruna.sla.business_time import DayHours, Schedule

UTC = dt.UTC
RIGA = ZoneInfo("Europe/Riga")
NINE_TO_FIVE = DayHours.parse("09:00", "17:00")
WEEKDAYS_ONLY = (NINE_TO_FIVE,) * 5 + (None, None)


def riga(*args):
    return dt.datetime(*args, tzinfo=RIGA)


def office(holidays=()):
    return Schedule(RIGA, WEEKDAYS_ONLY, frozenset(holidays))


HOUR = 3600

# 2026-03-02 is a Monday; 2026-03-06 a Friday.


def test_due_inside_the_same_day():
    assert office().add(riga(2026, 3, 2, 10, 0), 2 * HOUR) == riga(2026, 3, 2, 12, 0)


def test_due_exactly_at_closing_stays_on_that_day():
    assert office().add(riga(2026, 3, 2, 9, 0), 8 * HOUR) == riga(2026, 3, 2, 17, 0)


def test_overnight_rolls_to_next_morning():
    # 16:00 + 2 h: one hour today, one hour after 09:00 tomorrow.
    assert office().add(riga(2026, 3, 2, 16, 0), 2 * HOUR) == riga(2026, 3, 3, 10, 0)


def test_created_after_hours_starts_next_opening():
    assert office().add(riga(2026, 3, 2, 22, 30), HOUR) == riga(2026, 3, 3, 10, 0)
    assert office().add(riga(2026, 3, 3, 6, 0), HOUR) == riga(2026, 3, 3, 10, 0)


def test_weekend_is_skipped():
    # Friday 16:30 + 1 h: 30 minutes on Friday, 30 on Monday.
    assert office().add(riga(2026, 3, 6, 16, 30), HOUR) == riga(2026, 3, 9, 9, 30)
    # Saturday counts nothing.
    assert office().add(riga(2026, 3, 7, 12, 0), HOUR) == riga(2026, 3, 9, 10, 0)


def test_holidays_are_skipped():
    schedule = office(holidays=[dt.date(2026, 3, 3), dt.date(2026, 3, 4)])
    assert schedule.add(riga(2026, 3, 2, 16, 0), 2 * HOUR) == riga(2026, 3, 5, 10, 0)


def test_zero_seconds_is_the_next_open_moment():
    assert office().add(riga(2026, 3, 2, 12, 0), 0) == riga(2026, 3, 2, 12, 0)
    assert office().add(riga(2026, 3, 7, 12, 0), 0) == riga(2026, 3, 9, 9, 0)


def test_multi_day_target():
    # 3 business days of 8 h from Thursday 09:00 → Monday 17:00.
    assert office().add(riga(2026, 3, 5, 9, 0), 24 * HOUR) == riga(2026, 3, 9, 17, 0)


def test_hours_are_in_the_levels_zone_not_utc():
    # 07:00 UTC is 09:00 in Riga (UTC+2 in winter): the clock runs from there.
    start = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert office().add(start, HOUR) == dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_spring_forward_day_is_an_hour_shorter():
    # Europe/Riga moves 03:00 → 04:00 on Sunday 2026-03-29.
    always = Schedule.always_open("Europe/Riga")
    day_start, next_day = riga(2026, 3, 29, 0, 0), riga(2026, 3, 30, 0, 0)
    assert always.elapsed(day_start, next_day) == 23 * HOUR
    # 3 real hours after local midnight is 04:00 local (the hour 03:00-04:00 never happened).
    assert always.add(day_start, 3 * HOUR) == riga(2026, 3, 29, 4, 0)


def test_fall_back_day_is_an_hour_longer():
    always = Schedule.always_open("Europe/Riga")
    assert always.elapsed(riga(2026, 10, 25, 0, 0), riga(2026, 10, 26, 0, 0)) == 25 * HOUR


def test_opening_hours_in_the_missing_hour_start_after_it():
    nightly = Schedule(RIGA, (DayHours.parse("03:30", "05:00"),) * 7)
    # On the spring-forward night 03:30 does not exist: only 04:30-05:00 local is open.
    assert nightly.elapsed(riga(2026, 3, 29, 0, 0), riga(2026, 3, 29, 12, 0)) == 30 * 60


def test_summer_offset_applies_after_the_change():
    # In summer Riga is UTC+3: 09:00 local is 06:00 UTC.
    start = dt.datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
    assert office().add(start, 0) == dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def test_elapsed_counts_only_open_time():
    schedule = office()
    # Friday 16:00 → Monday 10:00: one hour each side of the weekend.
    assert schedule.elapsed(riga(2026, 3, 6, 16, 0), riga(2026, 3, 9, 10, 0)) == 2 * HOUR
    assert schedule.elapsed(riga(2026, 3, 7, 10, 0), riga(2026, 3, 8, 10, 0)) == 0
    assert schedule.elapsed(riga(2026, 3, 9, 10, 0), riga(2026, 3, 9, 9, 0)) == 0


def test_elapsed_and_add_agree():
    schedule = office(holidays=[dt.date(2026, 3, 10)])
    start = riga(2026, 3, 6, 15, 17)
    for seconds in (0, 1, 59 * 60, 8 * HOUR, 8 * HOUR + 1, 40 * HOUR):
        assert schedule.elapsed(start, schedule.add(start, seconds)) == seconds


def test_whole_day_interval():
    schedule = Schedule(RIGA, (DayHours.parse("00:00", "24:00"),) + (None,) * 6)
    assert schedule.add(riga(2026, 3, 2, 23, 0), 2 * HOUR) == riga(2026, 3, 9, 1, 0)


def test_never_open_again_gives_no_deadline():
    holidays = {dt.date(2026, 3, 2) + dt.timedelta(days=n) for n in range(4 * 366)}
    assert office(holidays).add(riga(2026, 3, 2, 9, 0), HOUR) is None


@pytest.mark.parametrize("start,end", [
    ("17:00", "09:00"), ("09:00", "09:00"), ("9", "10:00"), ("25:00", "26:00"),
    ("09:60", "10:00"), ("10:00", "24:01"),
])
def test_bad_hours_are_refused(start, end):
    with pytest.raises(ValueError):
        DayHours.parse(start, end)


def test_a_schedule_needs_an_open_day():
    with pytest.raises(ValueError):
        Schedule(RIGA, (None,) * 7)


def test_from_config_round_trip():
    schedule = Schedule.from_config(
        "Europe/Riga",
        {"monday": {"start": "08:30", "end": "24:00"}, "tuesday": None},
        ["2026-12-24"],
    )
    assert schedule.days[0].as_wire() == {"start": "08:30", "end": "24:00"}
    assert schedule.days[1] is None and schedule.holidays == {dt.date(2026, 12, 24)}
