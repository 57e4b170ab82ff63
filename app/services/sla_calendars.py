"""SLA calendars: create, change, delete, and their business-time arithmetic.

Validation is `business_time.Calendar.create`'s: its `CalendarError` names the field at fault,
which becomes a 422 for that field.
"""

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models.sla import SlaCalendar, SlaPolicy
from app.models.user import User
from app.services import business_time, pagination, sla, ticket_sla
from app.services.business_time import WEEKDAYS, Calendar, CalendarError

CALENDAR_FIELDS = (
    "time_zone",
    "working_hours",
    "holidays",
    "holiday_country",
    "holiday_subdivision",
)


def list_calendars(args: dict) -> dict:
    order = pagination.Order(((SlaCalendar.id, False),))
    return pagination.paginate(select(SlaCalendar), order, args, list_name="sla_calendars")


def get_calendar(calendar_id: int) -> SlaCalendar:
    calendar = db.session.get(SlaCalendar, calendar_id)
    if calendar is None:
        raise NotFound(f"SLA calendar {calendar_id} not found.")
    return calendar


def create_calendar(data: dict) -> SlaCalendar:
    """No ticket changes: no policy uses a new calendar yet."""
    values = _validated(data)
    _ensure_name_free(values["name"])
    calendar = SlaCalendar(**values)
    db.session.add(calendar)
    _flush_or_conflict()
    return calendar


def update_calendar(actor: User, calendar: SlaCalendar, data: dict) -> SlaCalendar:
    """A changed calendar replays the open tickets (those of its policies change)."""
    current = {name: getattr(calendar, name) for name in CALENDAR_FIELDS}
    values = _validated({**current, "name": calendar.name, **data})
    if values["name"] != calendar.name:
        _ensure_name_free(values["name"])
    changed = {name: value for name, value in values.items() if getattr(calendar, name) != value}
    if not changed:
        return calendar  # nothing to store or recompute
    for name, value in changed.items():
        setattr(calendar, name, value)
    _flush_or_conflict()
    ticket_sla.rules_changed(actor)
    return calendar


def delete_calendar(calendar: SlaCalendar) -> None:
    """No ticket changes: a calendar in use cannot be deleted."""
    if db.session.scalar(select(exists().where(SlaPolicy.calendar_id == calendar.id))):
        raise Conflict("This calendar is used by an SLA policy; give the policy another first.")
    db.session.delete(calendar)
    _flush_or_conflict("A policy took this calendar meanwhile.")


def due(row: SlaCalendar, start: datetime, minutes: int) -> dict:
    """`{"start", "minutes", "due_at"}`: when `minutes` of business time from `start` end."""
    try:
        due_at = business_time.due(sla.calendar_of(row), start, minutes)
    except (ValueError, OverflowError) as error:
        raise ValidationFailed(
            "No due time within the supported range for this start and target.",
            errors={"minutes": [str(error)]},
        ) from error
    return {"start": start, "minutes": minutes, "due_at": due_at}


def business_seconds(row: SlaCalendar, start: datetime, end: datetime) -> dict:
    """`{"start", "end", "seconds"}`: the business time between two instants."""
    try:
        seconds = business_time.business_seconds(sla.calendar_of(row), start, end)
    except (ValueError, OverflowError) as error:
        raise ValidationFailed(
            "Out of the supported range of dates.", errors={"to": [str(error)]}
        ) from error
    return {"start": start, "end": end, "seconds": seconds}


def _validated(data: dict) -> dict:
    """The stored form of a calendar's fields (all seven days, sorted), or a 422 for the field
    `Calendar.create` names."""
    country = _upper(data.get("holiday_country"))
    subdivision = _upper(data.get("holiday_subdivision"))
    holidays = sorted(data.get("holidays") or (), key=lambda item: str(item["date"]))
    try:
        Calendar.create(
            data["time_zone"],
            data["working_hours"],
            [item["date"] for item in holidays],
            country,
            subdivision,
        )
    except CalendarError as error:
        raise ValidationFailed(
            f"Invalid {error.field}: {error.message}.", errors={error.field: [error.message]}
        ) from None
    working_hours = {
        day: sorted(
            (
                {"start": item["start"], "end": item["end"]}
                for item in data["working_hours"].get(day) or ()
            ),
            key=lambda item: item["start"],
        )
        for day in WEEKDAYS
    }
    return {
        "name": data["name"],
        "time_zone": data["time_zone"],
        "working_hours": working_hours,
        "holidays": [
            {"date": str(item["date"]), "name": item.get("name", "")} for item in holidays
        ],
        "holiday_country": country,
        "holiday_subdivision": subdivision,
    }


def _upper(code: str | None) -> str | None:
    return code.strip().upper() if code else None


def _ensure_name_free(name: str) -> None:
    if db.session.scalar(select(exists().where(SlaCalendar.name == name))):
        raise Conflict(
            f"An SLA calendar named {name!r} already exists.", errors={"name": ["Taken."]}
        )


def _flush_or_conflict(detail: str = "An SLA calendar with this name already exists.") -> None:
    # Two requests racing for one name: the unique index decides, the loser gets 409.
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(detail) from error
