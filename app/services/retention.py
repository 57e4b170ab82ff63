"""Retention: old rows deleted in bounded batches, one statement of at most `batch` rows each.

Events go oldest first, and only as a prefix of the outbox: everything before the first event
that must stay (young enough, needed by a pending webhook delivery, not yet turned into
deliveries or mails, or the newest of all, which keeps "newest event id" meaningful). So the kept
events are always every event after one id, stored as the `retention` position, and a stream
resuming from below that id knows it may have missed some (streams.reset_event).
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app import clock
from app.extensions import db
from app.models.auth import IdempotencyKey
from app.models.background import FANOUT, MAIL, RETENTION
from app.models.event import Event
from app.models.webhook import WebhookDelivery
from app.services import heartbeats, outbox_positions, sessions, stream_slots

BATCH = 1000
HEARTBEATS_KEPT = timedelta(days=1)


def delete_old_events(batch: int = BATCH) -> int:
    """One batch of the oldest events that may go; how many went."""
    config = current_app.config
    cutoff = clock.now() - timedelta(days=config["EVENTS_RETENTION_DAYS"])
    outbox_positions.lock(RETENTION)  # one retention at a time
    bounds = [
        db.session.scalar(
            select(Event.id).where(Event.created_at >= cutoff).order_by(Event.id).limit(1)
        ),
        db.session.scalar(select(func.max(Event.id))),
        db.session.scalar(
            select(func.min(WebhookDelivery.event_id)).where(WebhookDelivery.status == "pending")
        ),
        outbox_positions.read(FANOUT) + 1,
        outbox_positions.read(MAIL) + 1,
    ]
    keep_from = min(bound for bound in bounds if bound is not None)
    ids = db.session.scalars(
        select(Event.id).where(Event.id < keep_from).order_by(Event.id).limit(batch)
    ).all()
    if not ids:
        return 0
    db.session.execute(
        delete(Event).where(Event.id <= ids[-1]).execution_options(synchronize_session=False)
    )
    outbox_positions.advance(RETENTION, ids[-1])
    return len(ids)


def delete_old_idempotency_keys(batch: int = BATCH) -> int:
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    ids = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.created_at < clock.now() - ttl)
        .order_by(IdempotencyKey.id)
        .limit(batch)
    )
    return _delete_ids(IdempotencyKey, ids)


def delete_old_deliveries(batch: int = BATCH) -> int:
    """Succeeded and failed deliveries past WEBHOOK_DELIVERIES_RETENTION_DAYS."""
    days = current_app.config["WEBHOOK_DELIVERIES_RETENTION_DAYS"]
    ids = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status != "pending",
            WebhookDelivery.created_at < clock.now() - timedelta(days=days),
        )
        .order_by(WebhookDelivery.id)
        .limit(batch)
    )
    return _delete_ids(WebhookDelivery, ids)


def delete_finished_sessions(batch: int = BATCH) -> int:
    return sessions.delete_finished(batch)


def delete_expired_stream_places(batch: int = BATCH) -> int:
    return stream_slots.delete_expired(batch)


def delete_stale_heartbeats(batch: int = BATCH) -> int:
    return heartbeats.delete_stale(HEARTBEATS_KEPT, batch)


def _delete_ids(model, ids) -> int:
    chosen = db.session.scalars(ids).all()
    if not chosen:
        return 0
    statement = delete(model).where(model.id.in_(chosen))
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount


def kept_from() -> int:
    """Events after this id are all kept (0: retention never deleted one)."""
    return outbox_positions.read(RETENTION)
