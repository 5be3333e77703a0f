"""The clinic's opening hours: parsed from clinic.yml, "open at t?" and "next opening".

Hours are wall-clock times in the clinic's time zone, so a clinic that opens at 09:00
opens at 09:00 local time on both sides of a daylight-saving change. Each weekday has
zero or more ``HH:MM-HH:MM`` ranges; a range never crosses midnight (``22:00-24:00``
on one day plus ``00:00-02:00`` on the next is an overnight shift). Pure functions,
no I/O: the config loader (bot.config) builds an ``OpeningHours`` and the handoff
action and the staff app ask it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_KEYS = tuple(name[:3].lower() for name in DAY_NAMES)  # mon ... sun
MINUTES_PER_DAY = 24 * 60
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Range = tuple[int, int]  # minutes after local midnight, start < end <= 24:00


class HoursError(ValueError):
    """A malformed opening-hours value; the message says which and why."""


def _minutes(hours: str, minutes: str, text: str, allow_24: bool) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY or (value == MINUTES_PER_DAY and not allow_24):
        raise HoursError(f"{text!r}: not a time of day (use HH:MM, 00:00 to 24:00)")
    return value


def parse_range(text: str) -> Range:
    """``"09:00-13:30"`` -> (540, 810)."""
    match = _RANGE.match(text)
    if not match:
        raise HoursError(f"{text!r}: expected a range like 09:00-18:00")
    start = _minutes(match[1], match[2], text, allow_24=False)
    end = _minutes(match[3], match[4], text, allow_24=True)
    if end <= start:
        raise HoursError(
            f"{text!r}: the end is not after the start; split an overnight shift at "
            "midnight (22:00-24:00, then 00:00-02:00 on the next day)"
        )
    return start, end


def _day_index(key: Any) -> int:
    name = str(key).strip().lower()
    for index, full in enumerate(DAY_NAMES):
        if name in (DAY_KEYS[index], full.lower()):
            return index
    raise HoursError(f"{key!r}: not a day of the week (use mon, tue, wed, thu, fri, sat, sun)")


def _day_ranges(value: Any, day: str) -> tuple[Range, ...]:
    if value is None or value == "closed" or value == []:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise HoursError(f'{day}: expected a list of ranges like ["09:00-18:00"] or closed')
    ranges = sorted(parse_range(item) for item in items)
    for (_, end), (start, _) in pairwise(ranges):
        if start < end:
            raise HoursError(f"{day}: ranges overlap")
    return tuple(ranges)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours in one IANA time zone; ``days[0]`` is Monday."""

    timezone: str
    days: tuple[tuple[Range, ...], ...]

    @classmethod
    def parse(cls, raw: Any, timezone_name: str) -> OpeningHours:
        """From clinic.yml's ``opening_hours`` mapping (day -> ranges). Raises HoursError."""
        if not isinstance(raw, dict) or not raw:
            raise HoursError("expected a mapping of weekdays to ranges, e.g. mon: [09:00-18:00]")
        days: list[tuple[Range, ...]] = [()] * 7
        seen: set[int] = set()
        for key, value in raw.items():
            index = _day_index(key)
            if index in seen:
                raise HoursError(f"{DAY_NAMES[index]} is given twice")
            seen.add(index)
            days[index] = _day_ranges(value, DAY_NAMES[index])
        if not any(days):
            raise HoursError("every day is closed; leave opening_hours out instead")
        ZoneInfo(timezone_name)  # the caller checked it; fails loudly if not
        return cls(timezone_name, tuple(days))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None:  # naive times in this project are UTC
            at = at.replace(tzinfo=timezone.utc)
        return at.astimezone(self.zone)

    def is_open(self, at: datetime) -> bool:
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.days[local.weekday()])

    def _at(self, day: date, minutes: int) -> datetime:
        """The aware moment of a wall-clock time on a local date (24:00 = next midnight)."""
        if minutes == MINUTES_PER_DAY:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)

    def next_opening(self, at: datetime) -> datetime:
        """When the clinic next opens after ``at`` (in the clinic's zone); a range that
        merely continues past midnight (24:00 then 00:00) is not a new opening."""
        local = self._local(at)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            for start, _ in self.days[day.weekday()]:
                if start == 0 and self._continues_from_yesterday(day):
                    continue
                opening = self._at(day, start)
                if opening > local:
                    return opening
        raise AssertionError("a week always has an opening; parse() rejects none")

    def _continues_from_yesterday(self, day: date) -> bool:
        yesterday = self.days[(day.weekday() - 1) % 7]
        return bool(yesterday) and yesterday[-1][1] == MINUTES_PER_DAY

    def describe(self) -> str:
        """E.g. "Monday to Friday, 09:00–18:00; Saturday, 10:00–14:00 (Europe/Madrid)"."""
        groups: list[tuple[int, int, tuple[Range, ...]]] = []
        for index, ranges in enumerate(self.days):
            if groups and groups[-1][2] == ranges and groups[-1][1] == index - 1:
                groups[-1] = (groups[-1][0], index, ranges)
            else:
                groups.append((index, index, ranges))
        parts = []
        for first, last, ranges in groups:
            if not ranges:
                continue
            days = DAY_NAMES[first]
            if last > first:
                joiner = " and " if last == first + 1 else " to "
                days += joiner + DAY_NAMES[last]
            times = ", ".join(f"{_clock(s)}–{_clock(e)}" for s, e in ranges)
            parts.append(f"{days}, {times}")
        return f"{'; '.join(parts)} ({self.timezone})"

    def describe_opening(self, at: datetime) -> str:
        """The next opening as the patient reads it: "today at 15:00", "tomorrow at
        09:00" or "Monday at 09:00" (clinic time)."""
        local = self._local(at)
        opening = self.next_opening(at)
        days = (opening.date() - local.date()).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else DAY_NAMES[opening.weekday()]
        return f"{when} at {opening:%H:%M}"
