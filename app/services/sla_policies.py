"""SLA policies: create, change, delete, and which policy a ticket gets (`match`).

The default policy (created by migration 0006) applies when no other policy matches; it may
change its name, position, targets and calendar, but never get conditions, be deactivated or be
deleted. `is_default` is set by the migration only.
"""

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models.sla import CONDITION_KEYS, SlaCalendar, SlaPolicy
from app.services import pagination


def rules_changed() -> None:
    """Called after every create, update and delete of an SLA calendar or policy, in the
    caller's transaction (flushed, not committed).

    Intentionally empty for now: the lead wires the re-match and recompute of every open ticket
    (API.md section 10) here, in the ticket integration.
    """


def list_policies(args: dict) -> dict:
    """All policies by position, then id (the default policy among them at its position)."""
    stmt = select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)
    return pagination.paginate(stmt, args["page"], args["per_page"])


def get_policy(policy_id: int) -> SlaPolicy:
    policy = db.session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"SLA policy {policy_id} not found.")
    return policy


def default_policy() -> SlaPolicy:
    """The policy of tickets that no other active policy matches (there is always exactly one)."""
    return db.session.scalars(select(SlaPolicy).where(SlaPolicy.is_default)).one()


def match(priority: str, category: str, requester_department: str | None) -> SlaPolicy:
    """The first active non-default policy, by position then id, whose conditions all match;
    else the default policy. A condition missing or with an empty list matches anything;
    departments compare without regard to case or surrounding spaces."""
    values = {
        "priority": priority,
        "category": category,
        "requester_department": _department_key(requester_department),
    }
    candidates = db.session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.is_active, ~SlaPolicy.is_default)
        .order_by(SlaPolicy.position, SlaPolicy.id)
    )
    for policy in candidates:
        if all(_condition_holds(policy.conditions, key, values[key]) for key in CONDITION_KEYS):
            return policy
    return default_policy()


def _condition_holds(conditions: dict, key: str, value: str | None) -> bool:
    allowed = (conditions or {}).get(key) or []
    if not allowed:
        return True
    if key == "requester_department":
        return value in {_department_key(item) for item in allowed}
    return value in allowed


def _department_key(department: str | None) -> str | None:
    return department.strip().casefold() if department else None


def targets_for(policy: SlaPolicy, priority: str) -> tuple[int, int]:
    """(response_minutes, resolution_minutes) of `policy` for a ticket of `priority`."""
    target = policy.targets[priority]
    return target["response_minutes"], target["resolution_minutes"]


def create_policy(data: dict) -> SlaPolicy:
    _check_calendar(data.get("calendar_id"))
    policy = SlaPolicy(**data, is_default=False)
    db.session.add(policy)
    _flush_or_conflict()
    rules_changed()
    return policy


def update_policy(policy: SlaPolicy, data: dict) -> SlaPolicy:
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
    rules_changed()
    return policy


def delete_policy(policy: SlaPolicy) -> None:
    if policy.is_default:
        raise Conflict("The default policy cannot be deleted.")
    db.session.delete(policy)
    _flush_or_conflict("Tickets are still on this policy.")
    rules_changed()


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
