"""Positions in the `events` outbox kept by its background readers (see OutboxPosition)."""

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from app import clock
from app.extensions import db
from app.models.background import OutboxPosition


def read(name: str) -> int:
    """The last event id `name` has dealt with (0 before its first run)."""
    statement = select(OutboxPosition.event_id).where(OutboxPosition.name == name)
    return db.session.scalar(statement) or 0


def lock(name: str) -> int:
    """`read`, holding the row until the transaction ends: a second reader of the same name
    waits here for the first one's commit and then sees where it got to.

    A write comes first on purpose: on SQLite it takes the database's write lock before
    anything is read, so the transaction never has to upgrade a stale read snapshot.
    """
    statement = (
        update(OutboxPosition)
        .where(OutboxPosition.name == name)
        .values(updated_at=clock.now())
        .returning(OutboxPosition.event_id)
    )
    position = db.session.execute(statement).scalar()
    if position is None:
        insert_ignoring_duplicates(OutboxPosition, [{"name": name, "event_id": 0}])
        position = db.session.execute(statement).scalar()
    return position


def advance(name: str, event_id: int) -> None:
    """Move `name` forward to `event_id` (never back); the row must exist (see `lock`)."""
    db.session.execute(
        update(OutboxPosition)
        .where(OutboxPosition.name == name, OutboxPosition.event_id < event_id)
        .values(event_id=event_id, updated_at=clock.now())
    )


def insert_ignoring_duplicates(model, rows: list[dict], returning=None) -> list:
    """INSERT ... ON CONFLICT DO NOTHING on either database; the values of `returning` for the
    rows actually inserted."""
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).on_conflict_do_nothing()
    if returning is None:
        db.session.execute(statement, rows)
        return []
    return list(db.session.scalars(statement.returning(returning), rows))
