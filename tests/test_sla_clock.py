"""The instants of a ticket's SLA clocks in business time (app/services/sla.py), by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from app.services.business_time import Calendar, business_duration
from app.services.sla import clock_instants

OFFICE = Calendar.create(
    "Europe/Berlin", {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
)
TICK = timedelta(microseconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_round_the_clock_instants_are_plain_arithmetic():
    # 24/7: response 60 min from 10:00 is 11:00, at risk after 45 min; resolution 8 h plus
    # 1 h paused is 19:00, at risk after 6 h + 1 h paused = 17:00.
    instants = clock_instants(None, utc("2026-03-02 10:00"), 60, 480, 3600)
    assert instants.response_due_at == utc("2026-03-02 11:00")
    assert instants.response_at_risk_at == utc("2026-03-02 10:45") + TICK
    assert instants.resolution_due_at == utc("2026-03-02 19:00")
    assert instants.resolution_at_risk_at == utc("2026-03-02 17:00") + TICK


def test_friday_afternoon_runs_into_monday():
    # Created Fri 2026-03-06 16:30 Berlin (15:30Z, CET). Response 60 min: 30 min on Friday
    # (to 17:00), 30 min on Monday from 09:00: due Mon 09:30 Berlin = 08:30Z. At risk after
    # 45 min: 30 on Friday + 15 on Monday = Mon 09:15 Berlin = 08:15Z.
    instants = clock_instants(OFFICE, utc("2026-03-06 15:30"), 60, 240, 0)
    assert instants.response_due_at == utc("2026-03-09 08:30")
    assert instants.response_at_risk_at == utc("2026-03-09 08:15") + TICK
    # Resolution 4 h: 30 min Friday + 3 h 30 Monday = Mon 12:30 Berlin = 11:30Z; at risk after
    # 3 h: 30 min Friday + 2 h 30 Monday = Mon 11:30 Berlin = 10:30Z.
    assert instants.resolution_due_at == utc("2026-03-09 11:30")
    assert instants.resolution_at_risk_at == utc("2026-03-09 10:30") + TICK


def test_a_pause_moves_the_resolution_clock_by_business_time():
    # Created Mon 2026-03-02 09:00 Berlin (08:00Z). Resolution 8 h + 1 h paused = 9 h: Monday
    # 09-17 (8 h) and Tuesday 09-10: due Tue 10:00 Berlin = 09:00Z. At risk after 6 h + 1 h =
    # 7 h: Mon 16:00 Berlin = 15:00Z. The response clock does not pause: 60 min, Mon 10:00.
    instants = clock_instants(OFFICE, utc("2026-03-02 08:00"), 60, 480, 3600)
    assert instants.resolution_due_at == utc("2026-03-03 09:00")
    assert instants.resolution_at_risk_at == utc("2026-03-02 15:00") + TICK
    assert instants.response_due_at == utc("2026-03-02 09:00")


@pytest.mark.parametrize("minutes", [1, 15, 60, 480, 4320])
def test_at_risk_falls_strictly_after_three_quarters_of_the_target(minutes):
    start = utc("2026-03-06 15:30")
    instants = clock_instants(OFFICE, start, minutes, minutes, 0)
    three_quarters = timedelta(minutes=minutes) * 3 / 4
    assert business_duration(OFFICE, start, instants.response_at_risk_at) > three_quarters
    assert business_duration(OFFICE, start, instants.response_at_risk_at - TICK) <= three_quarters
