"""Opening hours (bot.clinic_hours): parsing, "open at t", the next opening, the text."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clinic_hours import HoursError, OpeningHours, parse_range

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def hours(raw: dict, zone: str = "Europe/Madrid") -> OpeningHours:
    return OpeningHours.parse(raw, zone)


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_weekday_hours_open_and_closed() -> None:
    week = hours(WEEKDAYS)
    assert week.is_open(madrid(2026, 12, 2, 9, 0))  # a Wednesday, at opening
    assert week.is_open(madrid(2026, 12, 2, 17, 59))
    assert not week.is_open(madrid(2026, 12, 2, 18, 0))  # the end is exclusive
    assert not week.is_open(madrid(2026, 12, 2, 8, 59))
    assert not week.is_open(madrid(2026, 12, 5, 12, 0))  # Saturday: closed day
    # Naive times are UTC, as everywhere in this project: 08:30 UTC is 09:30 in Madrid.
    assert week.is_open(datetime(2026, 12, 2, 8, 30))


def test_next_opening_skips_closed_days_and_says_when() -> None:
    week = hours(WEEKDAYS)
    friday_evening = madrid(2026, 12, 4, 19, 0)
    assert week.next_opening(friday_evening) == madrid(2026, 12, 7, 9, 0)
    assert week.describe_opening(friday_evening) == "Monday at 09:00"
    assert week.describe_opening(madrid(2026, 12, 2, 7, 0)) == "today at 09:00"
    assert week.describe_opening(madrid(2026, 12, 2, 20, 0)) == "tomorrow at 09:00"
    # Open now: the next opening is the next day's, never "now".
    assert week.next_opening(madrid(2026, 12, 2, 10, 0)) == madrid(2026, 12, 3, 9, 0)


def test_split_day_reopens_after_lunch() -> None:
    split = hours({"mon": ["09:00-13:00", "15:00-19:00"]})
    monday_lunch = madrid(2026, 11, 30, 14, 0)
    assert not split.is_open(monday_lunch)
    assert split.describe_opening(monday_lunch) == "today at 15:00"
    # Open one day a week only: a week later.
    assert split.next_opening(madrid(2026, 11, 30, 19, 30)) == madrid(2026, 12, 7, 9, 0)


def test_daylight_saving_changes_keep_wall_clock_hours() -> None:
    week = hours(WEEKDAYS)
    # Europe/Madrid moves to summer time on Sunday 29 March 2026: 09:00 is 08:00 UTC on
    # the Friday before and 07:00 UTC on the Monday after.
    assert week.is_open(utc(2026, 3, 27, 8, 0)) and not week.is_open(utc(2026, 3, 27, 7, 59))
    assert week.is_open(utc(2026, 3, 30, 7, 0)) and not week.is_open(utc(2026, 3, 30, 6, 59))
    opening = week.next_opening(utc(2026, 3, 28, 12, 0))
    assert opening.astimezone(timezone.utc) == utc(2026, 3, 30, 7, 0)
    # And back on Sunday 25 October 2026: Monday's 09:00 is 08:00 UTC again.
    opening = week.next_opening(utc(2026, 10, 24, 12, 0))
    assert opening.astimezone(timezone.utc) == utc(2026, 10, 26, 8, 0)


def test_overnight_shift_split_at_midnight() -> None:
    night = hours({"fri": ["20:00-24:00"], "sat": ["00:00-02:00", "10:00-12:00"]})
    assert night.is_open(madrid(2026, 12, 4, 23, 59))
    assert night.is_open(madrid(2026, 12, 5, 0, 30))  # Saturday, the same shift
    assert not night.is_open(madrid(2026, 12, 5, 2, 0))
    # Saturday 00:00 continues Friday's shift: from Friday 23:00 the next opening is 10:00.
    assert night.next_opening(madrid(2026, 12, 4, 23, 0)) == madrid(2026, 12, 5, 10, 0)
    assert (
        night.describe()
        == "Friday, 20:00–24:00; Saturday, 00:00–02:00, 10:00–12:00 (Europe/Madrid)"
    )


def test_describe_groups_days_with_the_same_hours() -> None:
    week = hours({**WEEKDAYS, "sat": "10:00-14:00", "sun": "closed"})
    assert week.describe() == (
        "Monday to Friday, 09:00–18:00; Saturday, 10:00–14:00 (Europe/Madrid)"
    )
    two = hours({"Tuesday": ["09:00-12:00"], "wed": ["09:00-12:00"], "fri": []})
    assert two.describe() == "Tuesday and Wednesday, 09:00–12:00 (Europe/Madrid)"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mon": ["9-17"]}, "expected a range like 09:00-18:00"),
        ({"mon": ["09:00-25:00"]}, "not a time of day"),
        ({"mon": ["09:61-17:00"]}, "not a time of day"),
        ({"mon": ["18:00-09:00"]}, "the end is not after the start"),
        ({"mon": ["09:00-09:00"]}, "the end is not after the start"),
        ({"funday": ["09:00-17:00"]}, "not a day of the week"),
        ({"mon": ["09:00-13:00", "12:00-18:00"]}, "ranges overlap"),
        ({"mon": ["09:00-13:00"], "monday": ["15:00-18:00"]}, "given twice"),
        ({"mon": 9}, "expected a list of ranges"),
        ({"mon": "closed"}, "every day is closed"),
        (["mon 09:00-17:00"], "expected a mapping"),
    ],
)
def test_malformed_hours_say_what_is_wrong(raw: object, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        OpeningHours.parse(raw, "Europe/Madrid")


def test_parse_range_accepts_midnight_as_end() -> None:
    assert parse_range("22:00-24:00") == (1320, 1440)
    with pytest.raises(HoursError):
        parse_range("24:00-24:00")
