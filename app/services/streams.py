"""Server-Sent Event streams: replay after Last-Event-ID, then live events, with heartbeats."""

import json
import queue
import time
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import func, select

from app.errors import ValidationFailed
from app.extensions import db
from app.models.event import Event
from app.services import clock, retention
from app.services.dispatcher import CLOSED, Subscriber, dispatcher_for

REPLAY_BATCH = 500


def parse_last_event_id(raw: str | None) -> int | None:
    """None when absent; 422 when malformed or beyond the newest event."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed(
            "Last-Event-ID must be a non-negative integer.",
            errors={"Last-Event-ID": ["Not an event id."]},
        )
    value = int(raw)
    if value > newest_event_id():
        raise ValidationFailed(
            "Last-Event-ID is newer than any event.",
            errors={"Last-Event-ID": ["No such event yet."]},
        )
    return value


def newest_event_id() -> int:
    return db.session.scalar(select(func.max(Event.id))) or 0


def reset_event(last_event_id: int | None) -> str | None:
    """`event: reset` for a client resuming from an id older than the events retention keeps
    (it may have missed deleted ones and should reload by REST), else None. Call it after
    reading the replay: a deletion committed before that read is then seen here too."""
    if last_event_id is None or last_event_id >= retention.kept_from():
        return None
    oldest = db.session.scalar(select(func.min(Event.id))) or retention.kept_from() + 1
    return f"event: reset\ndata: {json.dumps({'oldest_event_id': oldest})}\n\n"


def format_event(event_id: int, event_type: str, payload: dict) -> str:
    return f"id: {event_id}\nevent: {event_type}\ndata: {json.dumps(payload)}\n\n"


def open_stream(subscriber: Subscriber, last_event_id: int | None, expires_at) -> Iterator[str]:
    """Register first, then replay from the database, then go live: nothing falls in between."""
    config = current_app.config
    dispatcher = dispatcher_for(db.engine, config["EVENTS_POLL_SECONDS"])
    # Hold no pooled connection while subscribing: the first stream of a process starts the
    # dispatcher, which needs one, and a burst of streams must not hold them all meanwhile.
    db.session.rollback()
    dispatcher.subscribe(subscriber)
    cursor = newest_event_id() if last_event_id is None else last_event_id
    backlog = _replay(subscriber, cursor)
    reset = reset_event(last_event_id)
    db.session.rollback()  # ends the transaction: a long stream must not hold a connection
    # A stream also ends after EVENTS_MAX_STREAM_SECONDS; EventSource reconnects on its own with
    # Last-Event-ID, which spreads long-lived connections over workers after a deploy.
    lifetime = config["EVENTS_MAX_STREAM_SECONDS"]
    ends_at = time.monotonic() + lifetime
    heartbeat = min(config["EVENTS_HEARTBEAT_SECONDS"], lifetime)
    return _stream(dispatcher, subscriber, backlog, cursor, heartbeat, ends_at, expires_at, reset)


def _replay(subscriber: Subscriber, cursor: int) -> list:
    events = []
    while True:
        # Plain rows, not ORM objects: they outlive the session that read them.
        batch = db.session.execute(
            select(*Event.__table__.columns)
            .where(Event.id > cursor)
            .order_by(Event.id)
            .limit(REPLAY_BATCH)
        ).all()
        events.extend(batch)
        if len(batch) < REPLAY_BATCH:
            return events
        cursor = batch[-1].id


def _stream(
    dispatcher, subscriber, backlog, cursor, heartbeat, ends_at, expires_at, reset=None
) -> Iterator[str]:
    try:
        yield "retry: 2000\n: connected\n\n"
        if reset:
            yield reset
        for event in backlog:
            payload = subscriber.wants(event)
            if payload is not None:
                yield format_event(event.id, event.type, payload)
            cursor = max(cursor, event.id)
        while subscriber.closed_reason is None:
            if expires_at is not None and clock.now() >= expires_at:
                yield 'event: error\ndata: {"detail": "The token has expired."}\n\n'
                return
            remaining = ends_at - time.monotonic()
            if remaining <= 0:
                return
            try:
                event = subscriber.buffer.get(timeout=min(heartbeat, remaining))
            except queue.Empty:
                yield ": heartbeat\n\n"
                continue
            if event is CLOSED:
                break
            if event.id <= cursor:
                continue  # already sent during the replay
            cursor = event.id
            yield format_event(event.id, event.type, subscriber.wants(event))
        if subscriber.closed_reason:
            detail = json.dumps({"detail": f"Stream closed: {subscriber.closed_reason}."})
            yield f"event: error\ndata: {detail}\n\n"
    finally:
        dispatcher.unsubscribe(subscriber)
