"""Business-time arithmetic (app/services/business_time.py), without the app.

Every expected instant below was worked out by hand; the comment beside it shows the sum.
Timestamps are written with their local offset (Berlin +01:00 in winter, +02:00 in summer;
New York -05:00 / -04:00). 2026-01-01 is a Thursday.
"""

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.business_time import (
    Calendar,
    CalendarError,
    business_duration,
    business_seconds,
    due,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = (*WEEKDAYS, "sat", "sun")
OFFICE_HOURS = {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in WEEKDAYS}  # 7 h a day

OFFICE = Calendar.create("Europe/Berlin", OFFICE_HOURS)
BAVARIA = Calendar.create(
    "Europe/Berlin",
    OFFICE_HOURS,
    holidays=[date(2026, 3, 2), date(2026, 12, 24), date(2026, 12, 31)],
    holiday_country="DE",
    holiday_subdivision="BY",
)
ALWAYS_BERLIN = Calendar.create("Europe/Berlin", {day: [("00:00", "24:00")] for day in ALL_DAYS})
ALWAYS_NEW_YORK = Calendar.create(
    "America/New_York", {day: [{"start": "00:00", "end": "24:00"}] for day in ALL_DAYS}
)
NEW_YORK_OFFICE = Calendar.create(
    "America/New_York", {day: [("09:00", "17:00")] for day in WEEKDAYS}
)
# Night shifts around the hour that Berlin skips in spring and repeats in autumn.
NIGHT = Calendar.create(
    "Europe/Berlin", {day: [("01:00", "02:30"), ("02:45", "04:00")] for day in ALL_DAYS}
)
EVENINGS = Calendar.create("Europe/Berlin", {day: [("18:00", "24:00")] for day in WEEKDAYS})
SUNDAYS = Calendar.create("Europe/Berlin", {"sun": [("10:00", "14:00")]})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


DUE_CASES = [
    # (calendar, start, minutes, due)
    # Thu 10:00 + 60 = 11:00
    (OFFICE, "2026-01-08T10:00+01:00", 60, "2026-01-08T11:00+01:00"),
    # Thu 11:30: 30 to 12:00, lunch, 30 from 13:00 = 13:30
    (OFFICE, "2026-01-08T11:30+01:00", 60, "2026-01-08T13:30+01:00"),
    # Thu 11:00 + 60 ends exactly at 12:00: due 12:00, not 13:00
    (OFFICE, "2026-01-08T11:00+01:00", 60, "2026-01-08T12:00+01:00"),
    # Thu 16:00 + 60 ends exactly at 17:00: due then, not Fri 09:00
    (OFFICE, "2026-01-08T16:00+01:00", 60, "2026-01-08T17:00+01:00"),
    # Thu 12:00 (end of the morning): lunch, 60 from 13:00 = 14:00
    (OFFICE, "2026-01-08T12:00+01:00", 60, "2026-01-08T14:00+01:00"),
    # Thu 12:30, during lunch: 15 from 13:00 = 13:15
    (OFFICE, "2026-01-08T12:30+01:00", 15, "2026-01-08T13:15+01:00"),
    # Thu 13:00 + 1 = 13:01
    (OFFICE, "2026-01-08T13:00+01:00", 1, "2026-01-08T13:01+01:00"),
    # seconds carry through: 10:00:30 + 1 = 10:01:30
    (OFFICE, "2026-01-08T10:00:30+01:00", 1, "2026-01-08T10:01:30+01:00"),
    # before opening, Thu 07:15: clock starts 09:00, + 30 = 09:30
    (OFFICE, "2026-01-08T07:15+01:00", 30, "2026-01-08T09:30+01:00"),
    # after closing, Thu 18:00: clock starts Fri 09:00, + 30 = 09:30
    (OFFICE, "2026-01-08T18:00+01:00", 30, "2026-01-09T09:30+01:00"),
    # Thu 09:00 + 420 = a whole day (180 + 240) = 17:00
    (OFFICE, "2026-01-08T09:00+01:00", 420, "2026-01-08T17:00+01:00"),
    # Thu 09:00 + 421 = 420 on Thu, 1 on Fri = Fri 09:01
    (OFFICE, "2026-01-08T09:00+01:00", 421, "2026-01-09T09:01+01:00"),
    # Friday afternoon: Fri 16:00 + 120 = 60 on Fri, weekend, 60 on Mon = Mon 10:00
    (OFFICE, "2026-01-09T16:00+01:00", 120, "2026-01-12T10:00+01:00"),
    # Saturday noon + 240: Mon 09:00-12:00 gives 180, 60 from 13:00 = Mon 14:00
    (OFFICE, "2026-01-10T12:00+01:00", 240, "2026-01-12T14:00+01:00"),
    # holiday on Monday 2026-03-02: Fri 16:00 + 120 = 60 Fri, Mon off, 60 Tue = Tue 10:00
    (BAVARIA, "2026-02-27T16:00+01:00", 120, "2026-03-03T10:00+01:00"),
    # ... the same without that holiday: Mon 10:00
    (OFFICE, "2026-02-27T16:00+01:00", 120, "2026-03-02T10:00+01:00"),
    # Epiphany (BY), Tue 2026-01-06: Mon 16:30 + 60 = 30 Mon, Tue off, 30 Wed = Wed 09:30
    (BAVARIA, "2026-01-05T16:30+01:00", 60, "2026-01-07T09:30+01:00"),
    # Corpus Christi (BY), Thu 2026-06-04: Wed 16:00 + 90 = 60 Wed, Thu off, 30 Fri = 09:30
    (BAVARIA, "2026-06-03T16:00+02:00", 90, "2026-06-05T09:30+02:00"),
    # ... the same without Bavaria's holidays: Thu 09:30
    (OFFICE, "2026-06-03T16:00+02:00", 90, "2026-06-04T09:30+02:00"),
    # Christmas: Wed 12-23 16:00 + 120 = 60 Wed, Thu 24 (own holiday), Fri 25 (public),
    # weekend, 60 Mon 12-28 = 10:00
    (BAVARIA, "2026-12-23T16:00+01:00", 120, "2026-12-28T10:00+01:00"),
    # Berlin springs forward on Sun 2026-03-29: Fri 16:00 CET + 120 = 60 Fri, 60 Mon
    # = Mon 10:00 CEST (08:00Z): office hours are wall-clock hours
    (OFFICE, "2026-03-27T16:00+01:00", 120, "2026-03-30T10:00+02:00"),
    # Berlin falls back on Sun 2026-10-25: Fri 16:00 CEST + 120 = Mon 10:00 CET (09:00Z)
    (OFFICE, "2026-10-23T16:00+02:00", 120, "2026-10-26T10:00+01:00"),
    # 24/7 in Berlin: Sat 12:00 CET (11:00Z) + 1440 = 24 real hours = Sun 11:00Z = 13:00 CEST
    (ALWAYS_BERLIN, "2026-03-28T12:00+01:00", 1440, "2026-03-29T13:00+02:00"),
    # Sat 12:00 CEST (10:00Z) + 1440 = Sun 10:00Z = 11:00 CET
    (ALWAYS_BERLIN, "2026-10-24T12:00+02:00", 1440, "2026-10-25T11:00+01:00"),
    # Sat 00:00 CET + 2 days (2880): Sat has 24 h, Sun 23 h, so 1 h into Mon = Mon 01:00 CEST
    (ALWAYS_BERLIN, "2026-03-28T00:00+01:00", 2880, "2026-03-30T01:00+02:00"),
    # New York springs forward on Sun 2026-03-08: Sat 00:00 EST + 2880 = Mon 01:00 EDT
    (ALWAYS_NEW_YORK, "2026-03-07T00:00-05:00", 2880, "2026-03-09T01:00-04:00"),
    # New York falls back on Sun 2026-11-01 (25 h): Sat 00:00 EDT + 2880 = Sun 23:00 EST
    (ALWAYS_NEW_YORK, "2026-10-31T00:00-04:00", 2880, "2026-11-01T23:00-05:00"),
    # New York office: Fri 16:00 EST + 120 = 60 Fri, 60 Mon = Mon 10:00 EDT (14:00Z)
    (NEW_YORK_OFFICE, "2026-03-06T16:00-05:00", 120, "2026-03-09T10:00-04:00"),
    # Fri 16:00 EDT + 120 = Mon 10:00 EST (15:00Z)
    (NEW_YORK_OFFICE, "2026-10-30T16:00-04:00", 120, "2026-11-02T10:00-05:00"),
    # spring day, 01:00-02:30 and 02:45-04:00, 02:00-03:00 skipped: a skipped time is the
    # instant of the jump (01:00Z), so 01:00 CET-jump (00:00Z-01:00Z, 60) and jump-04:00 CEST
    # (01:00Z-02:00Z, 60). 01:00 CET + 75 = 60 + 15 = 01:15Z = 03:15 CEST
    (NIGHT, "2026-03-29T01:00+01:00", 75, "2026-03-29T03:15+02:00"),
    # ... + 120 = 60 + 60 = 02:00Z = 04:00 CEST, the end of that day's work (PEP 495's fold=0
    # would read 02:30 as 01:30Z and 02:45 as 01:45Z: 90 + 15, and 120 would spill over)
    (NIGHT, "2026-03-29T01:00+01:00", 120, "2026-03-29T04:00+02:00"),
    # autumn day, 02:00-03:00 twice: a repeated time is its first pass (fold=0), so 01:00 CEST-
    # 02:30 CEST (23:00Z-00:30Z, 90) and 02:45 CEST-04:00 CET (00:45Z-03:00Z, 135).
    # 01:00 CEST + 90 = 00:30Z = 02:30 CEST
    (NIGHT, "2026-10-25T01:00+02:00", 90, "2026-10-25T02:30+02:00"),
    # ... + 105 = 90 + 15 from 00:45Z = 01:00Z = 02:00 CET, the second pass of 02:00
    (NIGHT, "2026-10-25T01:00+02:00", 105, "2026-10-25T02:00+01:00"),
    # ... + 225 = 90 + 135 = 03:00Z = 04:00 CET
    (NIGHT, "2026-10-25T01:00+02:00", 225, "2026-10-25T04:00+01:00"),
    # 24:00 end: Mon 20:00 + 240 ends at 24:00 = Tue 00:00 (end of the interval)
    (EVENINGS, "2026-01-12T20:00+01:00", 240, "2026-01-13T00:00+01:00"),
    # Mon 20:00 + 300 = 240 Mon, 60 from Tue 18:00 = Tue 19:00
    (EVENINGS, "2026-01-12T20:00+01:00", 300, "2026-01-13T19:00+01:00"),
    # Fri 2026-03-27 18:00 + 420 = 360 Fri (to Sat 00:00), weekend, 60 Mon = Mon 19:00 CEST
    (EVENINGS, "2026-03-27T18:00+01:00", 420, "2026-03-30T19:00+02:00"),
    # Sundays 10:00-14:00 only: Mon 2026-01-12 + 300 = 240 on Sun 18th, 60 on Sun 25th
    (SUNDAYS, "2026-01-12T09:00+01:00", 300, "2026-01-25T11:00+01:00"),
    # six weeks: Mon 2026-01-12 09:00 + 30 days x 420 = 12600 ends Fri 2026-02-20 17:00
    (OFFICE, "2026-01-12T09:00+01:00", 12600, "2026-02-20T17:00+01:00"),
    # six weeks in Bavaria over Easter and DST: from Mon 2026-03-16, 30 working days:
    # Mar 16-20 (5), 23-27 (5), Mar 30-Apr 2 (4, Good Friday), Apr 7-10 (4, Easter Monday),
    # 13-17 (5), 20-24 (5) = 28, then Mon Apr 27 and Tue Apr 28 = Tue 17:00 CEST
    (BAVARIA, "2026-03-16T09:00+01:00", 12600, "2026-04-28T17:00+02:00"),
    # no calendar: plain time, across a DST switch too: Sat 12:00Z + 1440 = Sun 12:00Z
    (None, "2026-03-28T12:00+00:00", 1440, "2026-03-29T12:00+00:00"),
    # no calendar: Fri 16:00 + 120 = Fri 18:00, weekend or not
    (None, "2026-01-09T16:00+01:00", 120, "2026-01-09T18:00+01:00"),
]


@pytest.mark.parametrize(("calendar", "start", "minutes", "expected"), DUE_CASES)
def test_due(calendar, start, minutes, expected):
    result = due(calendar, at(start), minutes)
    assert result == at(expected)
    assert result.tzinfo is UTC
    # due and business_seconds agree on every case
    assert business_seconds(calendar, at(start), result) == minutes * 60


SECONDS_CASES = [
    # (calendar, start, end, seconds)
    # across a weekend: Fri 16:00-17:00 (3600) + Mon 09:00-10:00 (3600)
    (OFFICE, "2026-01-09T16:00+01:00", "2026-01-12T10:00+01:00", 7200),
    # end before start: negative
    (OFFICE, "2026-01-12T10:00+01:00", "2026-01-09T16:00+01:00", -7200),
    # across Epiphany: Mon 16:30-17:00 (1800) + Tue off + Wed 09:00-09:30 (1800)
    (BAVARIA, "2026-01-05T16:30+01:00", "2026-01-07T09:30+01:00", 3600),
    # ... without it: 1800 + 7 h Tue (25200) + 1800
    (OFFICE, "2026-01-05T16:30+01:00", "2026-01-07T09:30+01:00", 28800),
    # a whole week, Mon 00:00 to Mon 00:00: 5 x 7 h
    (OFFICE, "2026-01-12T00:00+01:00", "2026-01-19T00:00+01:00", 126000),
    # the week of Good Friday and Easter Monday in Bavaria, Mon Mar 30 to Mon Apr 13: 8 days
    (BAVARIA, "2026-03-30T00:00+02:00", "2026-04-13T00:00+02:00", 8 * 25200),
    # the lunch break only, and a weekend only: nothing
    (OFFICE, "2026-01-08T12:00+01:00", "2026-01-08T13:00+01:00", 0),
    (OFFICE, "2026-01-10T00:00+01:00", "2026-01-12T00:00+01:00", 0),
    # half a second
    (OFFICE, "2026-01-08T10:00:00.500000+01:00", "2026-01-08T10:00:01+01:00", 0.5),
    # the local days of the switches: Berlin 23 h and 25 h, New York 23 h and 25 h
    (ALWAYS_BERLIN, "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 23 * 3600),
    (ALWAYS_BERLIN, "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 25 * 3600),
    (ALWAYS_NEW_YORK, "2026-03-08T00:00-05:00", "2026-03-09T00:00-04:00", 23 * 3600),
    (ALWAYS_NEW_YORK, "2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00", 25 * 3600),
    # the night shifts on those days (see NIGHT in DUE_CASES): 60 + 60 and 90 + 135 minutes
    (NIGHT, "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 120 * 60),
    (NIGHT, "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 225 * 60),
    # no calendar: elapsed time, 23 h over Berlin's short day
    (None, "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 23 * 3600),
]


@pytest.mark.parametrize(("calendar", "start", "end", "expected"), SECONDS_CASES)
def test_business_seconds(calendar, start, end, expected):
    result = business_seconds(calendar, at(start), at(end))
    assert result == expected
    assert business_duration(calendar, at(start), at(end)) == timedelta(seconds=expected)
    assert isinstance(result, int) == isinstance(expected, int)


def test_zero_minutes_is_due_at_the_start_even_outside_hours():
    saturday = at("2026-01-10T12:00+01:00")
    assert due(OFFICE, saturday, 0) == saturday


def test_negative_minutes_and_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="negative"):
        due(OFFICE, at("2026-01-08T10:00+01:00"), -1)
    with pytest.raises(ValueError, match="naive"):
        due(OFFICE, datetime(2026, 1, 8, 10), 1)
    with pytest.raises(ValueError, match="naive"):
        business_seconds(None, datetime(2026, 1, 8, 10), at("2026-01-08T10:00+01:00"))


def test_equal_calendars_are_equal_and_hashable():
    again = Calendar.create("Europe/Berlin", {day: list(OFFICE_HOURS[day]) for day in WEEKDAYS})
    assert again == OFFICE and hash(again) == hash(OFFICE)
    assert again != BAVARIA


INVALID = [
    # (arguments, field, part of the message)
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "unknown time zone"),
    ({"time_zone": ""}, "time_zone", "unknown time zone"),
    ({"working_hours": {"mon": [("17:00", "09:00")]}}, "working_hours", "not before"),
    ({"working_hours": {"mon": [("09:00", "09:00")]}}, "working_hours", "not before"),
    ({"working_hours": {"mon": [("24:00", "24:00")]}}, "working_hours", "not before"),
    ({"working_hours": {"mon": [("9:00", "17:00")]}}, "working_hours", "HH:MM"),
    ({"working_hours": {"mon": [("09:00", "24:30")]}}, "working_hours", "HH:MM"),
    ({"working_hours": {"mon": [("09:60", "17:00")]}}, "working_hours", "HH:MM"),
    ({"working_hours": {"mon": [("09:00:00", "17:00")]}}, "working_hours", "HH:MM"),
    ({"working_hours": {"mon": [(900, 1700)]}}, "working_hours", "HH:MM"),
    ({"working_hours": {"mon": [{"start": "09:00"}]}}, "working_hours", "HH:MM"),
    ({"working_hours": {"mon": ["09:00-17:00"]}}, "working_hours", "interval"),
    (
        {"working_hours": {"tue": [("13:00", "17:00"), ("09:00", "13:30")]}},
        "working_hours",
        "overlaps",
    ),
    ({"working_hours": {}}, "working_hours", "no working time"),
    ({"working_hours": {day: [] for day in ALL_DAYS}}, "working_hours", "no working time"),
    ({"working_hours": {"monday": [("09:00", "17:00")]}}, "working_hours", "weekdays"),
    ({"holidays": ["2026-02-30"]}, "holidays", "not a date"),
    ({"holidays": [datetime(2026, 12, 24, tzinfo=UTC)]}, "holidays", "not a date"),
    ({"holiday_country": "XX"}, "holiday_country", "unknown"),
    ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_subdivision", "unknown"),
    ({"holiday_subdivision": "BY"}, "holiday_subdivision", "holiday_country"),
]


@pytest.mark.parametrize(("arguments", "field", "message"), INVALID)
def test_invalid_calendar(arguments, field, message):
    valid = {"time_zone": "Europe/Berlin", "working_hours": OFFICE_HOURS}
    with pytest.raises(CalendarError, match=message) as raised:
        Calendar.create(**{**valid, **arguments})
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)


def test_adjacent_intervals_and_24_00_are_valid():
    calendar = Calendar.create(
        "UTC", {"mon": [("00:00", "12:00"), ("12:00", "24:00")]}, holidays=["2026-01-12"]
    )
    # Mon 2026-01-12 is a holiday: Mon 2026-01-05 23:00 + 120 = 60 then 60 on Mon 19th
    assert due(calendar, at("2026-01-05T23:00+00:00"), 120) == at("2026-01-19T01:00+00:00")


PROPERTY_CALENDARS = [BAVARIA, NEW_YORK_OFFICE, ALWAYS_NEW_YORK, NIGHT, EVENINGS, SUNDAYS]


@settings(
    max_examples=150,
    deadline=None,
    # conftest's autouse fixture builds the app per test; these checks do not use it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    calendar=st.sampled_from(PROPERTY_CALENDARS),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    minutes=st.integers(1, 100_000),
    more=st.integers(0, 100_000),
    other=st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
)
def test_due_and_business_seconds_are_inverses(calendar, start, minutes, more, other):
    due_at = due(calendar, start, minutes)
    assert business_seconds(calendar, start, due_at) == minutes * 60
    # the earliest such instant: a microsecond earlier is not enough
    assert business_seconds(calendar, start, due_at - timedelta(microseconds=1)) < minutes * 60
    assert due(calendar, start, minutes + more) >= due_at
    # spans add up, through any other instant (signed: before, between or after)
    parts = business_duration(calendar, start, other) + business_duration(calendar, other, due_at)
    assert parts == timedelta(minutes=minutes)


# Days around both switches in both zones, and Bavarian holidays next to weekends.
ANCHORS = [
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2027, 3, 14, tzinfo=UTC),
    datetime(2027, 3, 28, tzinfo=UTC),
    datetime(2027, 10, 31, tzinfo=UTC),
    datetime(2027, 11, 7, tzinfo=UTC),
    datetime(2026, 1, 6, tzinfo=UTC),
    datetime(2026, 6, 4, tzinfo=UTC),
    datetime(2026, 12, 24, tzinfo=UTC),
]


def minute_by_minute(calendar: Calendar, start: datetime, end: datetime) -> int:
    """An independent count: every UTC minute whose local wall-clock time is worked."""
    if calendar.holiday_country is None:
        public = {}
    else:
        public = holidays.country_holidays(
            calendar.holiday_country, subdiv=calendar.holiday_subdivision, years=[2026, 2027]
        )
    worked = 0
    moment = start
    while moment < end:
        local = moment.astimezone(calendar.zone)
        minute = local.hour * 60 + local.minute
        if local.date() not in calendar.holidays and local.date() not in public:
            intervals = calendar.working_hours[local.weekday()]
            worked += any(first <= minute < last for first, last in intervals)
        moment += timedelta(minutes=1)
    return worked * 60


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    # NIGHT is left out: around its repeated hour "the wall clock shows a worked time" and
    # "between the first passes of start and end" differ by design (see the module).
    calendar=st.sampled_from([BAVARIA, NEW_YORK_OFFICE, ALWAYS_NEW_YORK, EVENINGS]),
    anchor=st.sampled_from(ANCHORS),
    offset=st.integers(-3 * 1440, 3 * 1440),
    length=st.integers(0, 3 * 1440),
)
def test_business_seconds_matches_a_minute_by_minute_count(calendar, anchor, offset, length):
    start = anchor + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    assert business_seconds(calendar, start, end) == minute_by_minute(calendar, start, end)
