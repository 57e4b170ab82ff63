"""SLA policies: create, change, delete (which policy a ticket gets: `ticket_sla.match`).

The default policy (created by migration 0006) applies when no other policy matches; it may
change its name, position, targets and calendar, but never get conditions, be deactivated or be
deleted. `is_default` is set by the migration only.
"""

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models.sla import SlaCalendar, SlaPolicy
from app.models.user import User
from app.services import pagination, ticket_sla


def list_policies(args: dict) -> dict:
    """All policies by position, then id (the default policy among them at its position)."""
    order = pagination.Order(((SlaPolicy.position, False), (SlaPolicy.id, False)))
    return pagination.paginate(select(SlaPolicy), order, args, list_name="sla_policies")


def get_policy(policy_id: int) -> SlaPolicy:
    policy = db.session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"SLA policy {policy_id} not found.")
    return policy


def create_policy(actor: User, data: dict) -> SlaPolicy:
    _check_calendar(data.get("calendar_id"))
    policy = SlaPolicy(**data, is_default=False)
    db.session.add(policy)
    _flush_or_conflict()
    ticket_sla.rules_changed(actor)
    return policy


def update_policy(actor: User, policy: SlaPolicy, data: dict) -> SlaPolicy:
    if policy.is_default:
        _check_default_update(data)
    if "calendar_id" in data:
        _check_calendar(data["calendar_id"])
    changed = {name: value for name, value in data.items() if getattr(policy, name) != value}
    if not changed:
        return policy  # nothing to store or recompute
    for name, value in changed.items():
        setattr(policy, name, value)
    _flush_or_conflict()
    ticket_sla.rules_changed(actor)
    return policy


def delete_policy(actor: User, policy: SlaPolicy) -> None:
    """Only the tickets on a deleted policy can change: no other ticket matched it first.
    Its open tickets are matched again at once; its resolved and closed ones keep their due
    times and go to the default policy."""
    if policy.is_default:
        raise Conflict("The default policy cannot be deleted.")
    policy.is_active = False
    db.session.flush()
    ticket_sla.recompute_open(actor.id, policy_id=policy.id)
    ticket_sla.move_done_tickets(policy, actor)
    db.session.delete(policy)
    _flush_or_conflict("A ticket took this policy meanwhile.")


def _check_default_update(data: dict) -> None:
    if data.get("is_active") is False:
        raise Conflict(
            "The default policy cannot be deactivated.",
            errors={"is_active": ["The default policy stays active."]},
        )
    if any((data.get("conditions") or {}).values()):
        raise Conflict(
            "The default policy cannot have conditions: it applies when no other policy does.",
            errors={"conditions": ["The default policy has no conditions."]},
        )


def _check_calendar(calendar_id: int | None) -> None:
    if calendar_id is None:
        return
    if not db.session.scalar(select(exists().where(SlaCalendar.id == calendar_id))):
        raise ValidationFailed(
            f"SLA calendar {calendar_id} does not exist.",
            errors={"calendar_id": ["No calendar with this id."]},
        )


def _flush_or_conflict(detail: str = "The SLA calendar was deleted meanwhile.") -> None:
    # Foreign keys decide races (a calendar deleted while a policy takes it): the loser gets 409.
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(detail) from error
