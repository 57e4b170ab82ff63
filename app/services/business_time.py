"""Business time: due instants and elapsed business seconds on a working-hours calendar.

Pure arithmetic, no Flask and no database. Instants go in as aware datetimes and come out in
UTC; inside they are integer microseconds since the epoch, so `due` and `business_seconds`
are exact inverses. A `None` calendar means 24/7: plain time arithmetic.

Daylight saving: working hours are local wall-clock times, turned into instants per local
date. A wall-clock time becomes the first instant at which the clock shows it or later. A
repeated time (autumn) is its first pass, as with fold=0, so an interval across the repeated
hour is an hour longer. A skipped time (spring) is the instant of the jump, so 02:00-03:00
is empty that day and 01:00-03:00 lasts an hour; PEP 495's fold=0 would read 02:30 as 03:30
summer time, which can make intervals shrink, run backwards or overlap. This mapping never
goes back, so intervals stay ordered and disjoint. "24:00" is the next local midnight.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|(24):(00)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000  # in microseconds
# A walk that meets no working time for this long (every working day a holiday) would never
# end; it fails instead.
_MAX_IDLE_DAYS = 3 * 366

Intervals = tuple[tuple[int, int], ...]


class CalendarError(ValueError):
    """An invalid calendar: `field` names the input field at fault (for a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Calendar:
    """Working hours in a time zone, less holidays. Build one with `Calendar.create`.

    `working_hours` holds seven tuples, Monday first, of sorted, disjoint (start, end) minutes
    after local midnight (end up to 1440). Hashable: equal calendars share a per-day cache.
    """

    time_zone: str
    working_hours: tuple[Intervals, ...]
    holidays: frozenset[date] = frozenset()
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    days: dict[int, Intervals] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.time_zone))
        object.__setattr__(self, "days", _day_cache(self))

    @classmethod
    def create(
        cls,
        time_zone: str,
        working_hours: Mapping[str, Iterable],
        holidays: Iterable[date | str] = (),
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
    ) -> "Calendar":
        """Validate the API's fields and build the calendar, or raise `CalendarError`.

        `working_hours` maps "mon".."sun" to ("09:00", "17:00") pairs or {"start", "end"}
        mappings (a missing day is not worked); `holidays` holds dates or "YYYY-MM-DD".
        """
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise CalendarError("time_zone", f"unknown time zone {time_zone!r}") from None
        days = _parse_working_hours(working_hours)
        days_off = frozenset(_parse_date(value) for value in holidays)
        if holiday_country is None and holiday_subdivision is not None:
            raise CalendarError("holiday_subdivision", "needs a holiday_country")
        if holiday_country is not None:
            for field_name, code, subdivision in (
                ("holiday_country", holiday_country, None),
                ("holiday_subdivision", holiday_subdivision, holiday_subdivision),
            ):
                try:
                    holiday_data.country_holidays(holiday_country, subdiv=subdivision)
                except (NotImplementedError, KeyError, TypeError, AttributeError):
                    raise CalendarError(field_name, f"unknown code {code!r}") from None
        return cls(time_zone, days, days_off, holiday_country, holiday_subdivision)


def due(calendar: Calendar | None, start: datetime, minutes: int) -> datetime:
    """The earliest instant with `minutes` of business time between `start` and it.

    A clock started outside business hours starts at the next working interval; a target
    that ends exactly at the end of an interval is due at that end. 0 minutes: `start`.
    """
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    return due_after(calendar, start, timedelta(minutes=minutes))


def due_after(calendar: Calendar | None, start: datetime, duration: timedelta) -> datetime:
    """As `due`, for any non-negative duration (to the microsecond)."""
    remaining = duration // timedelta(microseconds=1)
    if remaining < 0:
        raise ValueError("the duration must not be negative")
    moment = _to_micro(start)
    if calendar is None or remaining == 0:
        return _from_micro(moment + remaining)
    # Earlier dates' intervals end before `start`: each ends by the first instant the clock
    # shows the next date, and at `start` the clock shows `start`'s date.
    ordinal = last_worked = start.astimezone(calendar.zone).toordinal()
    while ordinal - last_worked <= _MAX_IDLE_DAYS:
        for interval_start, interval_end in _intervals(calendar, ordinal):
            if interval_end > moment:
                available = interval_end - max(interval_start, moment)
                if remaining <= available:
                    return _from_micro(interval_end - available + remaining)
                remaining -= available
                last_worked = ordinal
        ordinal += 1
    raise ValueError(f"no working time within {_MAX_IDLE_DAYS} days after {start}")


def business_seconds(calendar: Calendar | None, start: datetime, end: datetime) -> int | float:
    """Business time between `start` and `end` in seconds, negative when `end` is earlier.

    An int when whole (as with timestamps to the second), else a float; to add spans up
    exactly (pauses), use `business_duration`.
    """
    micro = _business_micro(calendar, start, end)
    return micro // _SECOND if micro % _SECOND == 0 else micro / _SECOND


def business_duration(calendar: Calendar | None, start: datetime, end: datetime) -> timedelta:
    """`business_seconds` as an exact timedelta (negative when `end` is earlier)."""
    return timedelta(microseconds=_business_micro(calendar, start, end))


def _business_micro(calendar: Calendar | None, start: datetime, end: datetime) -> int:
    low, high = sorted((_to_micro(start), _to_micro(end)))
    if calendar is None:
        total = high - low
    else:
        total = 0
        first = _from_micro(low).astimezone(calendar.zone).toordinal()
        # A day more: where a clock falls back across midnight, the instant `high` may show
        # the day before a date whose intervals have begun.
        last = _from_micro(high).astimezone(calendar.zone).toordinal() + 1
        for ordinal in range(first, last + 1):
            for interval_start, interval_end in _intervals(calendar, ordinal):
                total += max(0, min(interval_end, high) - max(interval_start, low))
    return -total if end < start else total


def _intervals(calendar: Calendar, ordinal: int) -> Intervals:
    """The working intervals of a local date (by ordinal), in microseconds since the epoch."""
    intervals = calendar.days.get(ordinal)
    if intervals is None:
        intervals = calendar.days[ordinal] = _build_day(calendar, date.fromordinal(ordinal))
    return intervals


@lru_cache(maxsize=256)
def _day_cache(calendar: "Calendar") -> dict[int, Intervals]:
    # One dict of dates per distinct calendar, filled as dates are met and shared by equal
    # calendars (one built per request still finds its days); found once per Calendar, as
    # an lru_cache on (calendar, date) would hash the calendar for every day walked.
    return {}


def _build_day(calendar: Calendar, day: date) -> Intervals:
    country, subdivision = calendar.holiday_country, calendar.holiday_subdivision
    if day in calendar.holidays or (
        country and day in _public_holidays(country, subdivision, day.year)
    ):
        return ()
    intervals = []
    for start_minute, end_minute in calendar.working_hours[day.weekday()]:
        interval_start = _first_instant_showing(calendar.zone, day, start_minute)
        interval_end = _first_instant_showing(calendar.zone, day, end_minute)
        if interval_end > interval_start:  # else it lies within a skipped hour
            intervals.append((interval_start, interval_end))
    return tuple(intervals)


def _first_instant_showing(zone: ZoneInfo, day: date, minute: int) -> int:
    """The first instant (µs) at which the local clock shows `day` + `minute` or later."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: a repeated time's first pass
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return _to_micro(instant)
    # Skipped: fold=0 gave an instant after the jump, fold=1 one before it. Find the jump's
    # second by bisection (tzdata has no lookup for it; this runs once per date).
    before, after = int(wall.replace(tzinfo=zone, fold=1).timestamp()), int(instant.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after * _SECOND


@lru_cache(maxsize=1024)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holiday_data.country_holidays(country, subdiv=subdivision, years=year))


def _parse_working_hours(working_hours: Mapping[str, Iterable]) -> tuple[Intervals, ...]:
    def fail(message: str) -> CalendarError:
        return CalendarError("working_hours", message)

    def minutes(weekday: str, value: object) -> int:
        match = _CLOCK_TIME.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise fail(f"{weekday}: {value!r} is not a time HH:MM (00:00 to 24:00)")
        hours, minute = (int(part) for part in match.groups() if part is not None)
        return hours * 60 + minute

    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    if not isinstance(working_hours, Mapping) or set(working_hours) - set(WEEKDAYS):
        raise fail("must map weekdays (mon..sun) to lists of intervals")
    days = []
    for weekday in WEEKDAYS:
        intervals = []
        for interval in working_hours.get(weekday) or ():
            if isinstance(interval, Mapping):
                interval = (interval.get("start"), interval.get("end"))
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise fail(f"{weekday}: {interval!r} is not a (start, end) interval")
            start, end = (minutes(weekday, value) for value in interval)
            if start >= end:
                raise fail(f"{weekday}: start {clock(start)} is not before end {clock(end)}")
            intervals.append((start, end))
        intervals.sort()
        for (_, earlier_end), (later_start, later_end) in pairwise(intervals):
            if later_start < earlier_end:
                raise fail(f"{weekday}: {clock(later_start)}-{clock(later_end)} overlaps")
        days.append(tuple(intervals))
    if not any(days):
        raise fail("no working time at all")
    return tuple(days)


def _parse_date(value: date | str) -> date:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        day = None
    if not isinstance(day, date) or isinstance(day, datetime):
        raise CalendarError("holidays", f"{value!r} is not a date YYYY-MM-DD")
    return day


def _to_micro(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment}: pass an aware (UTC) datetime")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_micro(micro: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micro)
