"""The cap on open event streams per user (EVENTS_MAX_STREAMS_PER_USER), on every worker and
host at once: each open stream holds a row of `event_streams` in the shared database."""

import math
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Engine

from app import clock
from app.errors import TooManyRequests
from app.extensions import db
from app.models.auth import EventStream

STREAM_SLOT_LOCK = 7_310_002


def claim(user_id: int, expires_at: datetime) -> int:
    """Take one of the user's places and commit; 429 when all are taken."""
    now = clock.now()
    if db.engine.dialect.name == "postgresql":
        # Count and insert as one step per user. (On SQLite the DELETE below already takes the
        # database's single write lock, which serialises the same way.)
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:key, :user_id)"),
            {"key": STREAM_SLOT_LOCK, "user_id": user_id},
        )
    # Rows left by a worker that was killed outright count only until their expiry.
    db.session.execute(
        delete(EventStream).where(EventStream.user_id == user_id, EventStream.expires_at <= now)
    )
    held = db.session.execute(
        select(func.count(), func.min(EventStream.expires_at)).where(EventStream.user_id == user_id)
    ).one()
    limit = current_app.config["EVENTS_MAX_STREAMS_PER_USER"]
    if held[0] >= limit:
        db.session.rollback()
        retry_after = max(1, math.ceil((held[1] - now).total_seconds()))
        raise TooManyRequests(
            f"You already have {limit} open event streams; close one first.",
            headers={"Retry-After": str(retry_after)},
        )
    slot = EventStream(user_id=user_id, opened_at=now, expires_at=expires_at)
    db.session.add(slot)
    db.session.flush()
    slot_id = slot.id
    db.session.commit()
    return slot_id


def delete_expired(batch: int) -> int:
    """Delete up to `batch` places past their expiry, left by workers that were killed
    (retention); how many went."""
    ids = db.session.scalars(
        select(EventStream.id).where(EventStream.expires_at <= clock.now()).limit(batch)
    ).all()
    if not ids:
        return 0
    statement = delete(EventStream).where(EventStream.id.in_(ids))
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount


def release(engine: Engine, slot_id: int) -> None:
    # Its own connection: this runs when the stream closes, outside the request's session.
    with engine.begin() as connection:
        connection.execute(delete(EventStream).where(EventStream.id == slot_id))
