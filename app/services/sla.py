"""The SLA clock: due times, the pause while pending, breaches, `sla_status` and alerts.

Due times are counted in the business time of the ticket's policy (`business_time`); each
ticket stores its due instants and the instants its clocks become at risk, so that every
other rule compares instants. Every rule exists twice, as Python for one ticket and as SQL
for filters and reports, and the two are kept side by side here so that they cannot drift.
"""

from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Float, and_, event, func, literal, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from app.models.sla import SlaCalendar, SlaPolicy
from app.models.ticket import Ticket
from app.models.types import UTCDateTime
from app.services import business_time

DONE_STATUSES = ("resolved", "closed")
# At risk with less than a quarter of the clock's target left.
AT_RISK_PARTS = 4


class ClockInstants(NamedTuple):
    """When each clock is due, and the first instant it is at risk (less than a quarter of its
    target left, in business time): stored on the ticket, so SQL compares instants."""

    response_due_at: datetime
    response_at_risk_at: datetime
    resolution_due_at: datetime
    resolution_at_risk_at: datetime


def clock_instants(
    calendar: business_time.Calendar | None,
    created_at: datetime,
    response_minutes: int,
    resolution_minutes: int,
    paused_seconds: int,
) -> ClockInstants:
    """The instants of both clocks of a ticket created at `created_at` whose resolution clock
    has stood still for `paused_seconds` of business time. A clock is at risk once more than
    three quarters of its target have passed: from the first microsecond after that point."""
    response = timedelta(minutes=response_minutes)
    resolution = timedelta(minutes=resolution_minutes)
    paused = timedelta(seconds=paused_seconds)
    tick = timedelta(microseconds=1)

    def after(duration: timedelta) -> datetime:
        return business_time.due_after(calendar, created_at, duration)

    return ClockInstants(
        response_due_at=after(response),
        response_at_risk_at=after(response * 3 / AT_RISK_PARTS + tick),
        resolution_due_at=after(resolution + paused),
        resolution_at_risk_at=after(resolution * 3 / AT_RISK_PARTS + paused + tick),
    )


def calendar_of(row: SlaCalendar | None) -> business_time.Calendar | None:
    """The business-time calendar of a stored calendar (None, 24/7, for None); built once per
    distinct set of values."""
    if row is None:
        return None
    working_hours = tuple(
        (day, tuple((item["start"], item["end"]) for item in row.working_hours.get(day, ())))
        for day in business_time.WEEKDAYS
    )
    holidays = tuple(item["date"] for item in row.holidays)
    return _build_calendar(
        row.time_zone, working_hours, holidays, row.holiday_country, row.holiday_subdivision
    )


@lru_cache(maxsize=128)
def _build_calendar(
    time_zone, working_hours, holidays, holiday_country, holiday_subdivision
) -> business_time.Calendar:
    return business_time.Calendar.create(
        time_zone, dict(working_hours), holidays, holiday_country, holiday_subdivision
    )


def targets_for(policy: SlaPolicy, priority: str) -> tuple[int, int]:
    """(response_minutes, resolution_minutes) of `policy` for a ticket of `priority`."""
    target = policy.targets[priority]
    return target["response_minutes"], target["resolution_minutes"]


def set_clocks(ticket: Ticket, policy: SlaPolicy) -> None:
    """Put the ticket on `policy`: both clocks from `created_at` in the policy's business time,
    the resolution clock later by the time already spent paused."""
    response, resolution = targets_for(policy, ticket.priority)
    instants = clock_instants(
        calendar_of(policy.calendar),
        ticket.created_at,
        response,
        resolution,
        ticket.sla_paused_seconds or 0,
    )
    ticket.sla_policy = policy
    for name, value in instants._asdict().items():
        setattr(ticket, name, value)


def business_seconds_between(
    calendar: business_time.Calendar | None, start: datetime, end: datetime
) -> int:
    """Whole business seconds from `start` to `end` (0 when `end` is not later): pauses are
    counted so, live and replayed alike, so that they add up the same."""
    return max(0, int(business_time.business_duration(calendar, start, end).total_seconds()))


def pause(ticket: Ticket, at: datetime) -> None:
    ticket.sla_paused_at = at


def resume(ticket: Ticket, at: datetime) -> None:
    """Leaving `pending`: the resolution clock moves later by the business time spent paused."""
    if ticket.sla_paused_at is None:
        return
    paused = business_seconds_between(
        calendar_of(ticket.sla_policy.calendar), ticket.sla_paused_at, at
    )
    ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + paused
    ticket.sla_paused_at = None
    set_clocks(ticket, ticket.sla_policy)


# --- one ticket, in Python -------------------------------------------------------------------


def response_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.first_response_at is None:
        return now > ticket.response_due_at
    return ticket.first_response_at > ticket.response_due_at


def resolution_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.resolved_at is None:
        # While paused the clock stands still at the moment the pause began.
        return (ticket.sla_paused_at or now) > ticket.resolution_due_at
    return ticket.resolved_at > ticket.resolution_due_at


def at_risk(ticket: Ticket, now: datetime) -> bool:
    """Less than a quarter of the current clock's target left (the response clock until the
    first response, then the resolution clock, which stands still while paused)."""
    if ticket.first_response_at is None:
        return now >= ticket.response_at_risk_at
    return (ticket.sla_paused_at or now) >= ticket.resolution_at_risk_at


def sla_status(ticket: Ticket, now: datetime) -> str:
    if response_breached(ticket, now) or resolution_breached(ticket, now):
        return "breached"
    if ticket.status in DONE_STATUSES:
        return "met"
    return "at_risk" if at_risk(ticket, now) else "on_track"


def annotate(tickets: list, now: datetime) -> list:
    """Set on each ticket the SLA values its representation shows as of `now`
    (`response_breached`, `resolution_breached`, `sla_status`); returns `tickets`."""
    for ticket in tickets:
        ticket.response_breached = response_breached(ticket, now)
        ticket.resolution_breached = resolution_breached(ticket, now)
        ticket.sla_status = sla_status(ticket, now)
    return tickets


# --- alerts: when the SLA scan must look at a ticket next ---------------------------------------

CLOCKS = ("response", "resolution")
TICK = timedelta(microseconds=1)


def alert_due(alert: str | None, at_risk_at, due_at, reading):
    """The alert a clock reading `reading` has come to and not had yet: "breached" once past
    its due time (also without a warning before), "warning" once at risk; else None."""
    if reading > due_at:
        return None if alert == "breached" else "breached"
    if reading >= at_risk_at and alert is None:
        return "warning"
    return None


def next_check(alert: str | None, at_risk_at, due_at, tick):
    """When a running clock with alerts `alert` has its next one: at risk, then just past due
    (`tick` after it: one microsecond, or one second for whole-second values)."""
    if alert is None:
        return at_risk_at
    if alert == "warning":
        return due_at + tick
    return None


def alerted_clocks(ticket: Ticket) -> tuple[str, ...]:
    """The clocks that can still alert: an open ticket's response clock until the first
    response, and its resolution clock."""
    if ticket.status in DONE_STATUSES:
        return ()
    return CLOCKS if ticket.first_response_at is None else ("resolution",)


def clock_values(ticket: Ticket, name: str) -> tuple[str | None, datetime, datetime]:
    """(alerts had, at-risk instant, due instant) of clock `name`."""
    return (
        getattr(ticket, f"sla_{name}_alert"),
        getattr(ticket, f"{name}_at_risk_at"),
        getattr(ticket, f"{name}_due_at"),
    )


def next_alert_at(ticket: Ticket) -> datetime | None:
    """When the SLA scan must look at the ticket next (None: no alert to come, or only from a
    clock that stands still while the ticket is pending)."""
    checks = [
        next_check(*clock_values(ticket, name), TICK)
        for name in alerted_clocks(ticket)
        if not (name == "resolution" and ticket.sla_paused_at is not None)
    ]
    return min((check for check in checks if check is not None), default=None)


@event.listens_for(Session, "before_flush")
def _schedule_alerts(session: Session, flush_context, instances) -> None:
    # Whatever changed a ticket's clocks (due times, pause, first response, status), its
    # next alert follows here, so that no write path can forget it.
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Ticket):
            obj.sla_next_alert_at = next_alert_at(obj)


# --- many tickets, in SQL ----------------------------------------------------------------------


class epoch(FunctionElement):
    """Seconds since 1970 of a timestamp column, on either database."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def _moment(now: datetime):
    return literal(now, UTCDateTime())


# Each branch tests its column for NULL explicitly: a bare `first_response_at > due` is NULL,
# not false, for unanswered tickets, and NOT (... OR NULL) would drop them from `breached=false`.


def response_breached_sql(now: datetime):
    return or_(
        and_(Ticket.first_response_at.is_(None), Ticket.response_due_at < _moment(now)),
        and_(
            Ticket.first_response_at.is_not(None),
            Ticket.first_response_at > Ticket.response_due_at,
        ),
    )


def resolution_breached_sql(now: datetime):
    clock = func.coalesce(Ticket.sla_paused_at, _moment(now))
    return or_(
        and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < clock),
        and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.resolution_due_at),
    )


def breached_sql(now: datetime):
    return or_(response_breached_sql(now), resolution_breached_sql(now))


def at_risk_sql(now: datetime):
    return or_(
        and_(Ticket.first_response_at.is_(None), Ticket.response_at_risk_at <= _moment(now)),
        and_(
            Ticket.first_response_at.is_not(None),
            func.coalesce(Ticket.sla_paused_at, _moment(now)) >= Ticket.resolution_at_risk_at,
        ),
    )


def sla_status_condition(status: str, now: datetime):
    """A WHERE condition selecting the tickets whose `sla_status` is `status`."""
    breached = breached_sql(now)
    done = Ticket.status.in_(DONE_STATUSES)
    if status == "breached":
        return breached
    if status == "met":
        return and_(not_(breached), done)
    risky = at_risk_sql(now)
    if status == "at_risk":
        return and_(not_(breached), not_(done), risky)
    return and_(not_(breached), not_(done), not_(risky))
