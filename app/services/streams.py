"""Server-Sent Event streams: replay after Last-Event-ID, then live events, with heartbeats."""

import json
import queue
import re
import time
from collections.abc import Iterator
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select

from app import clock
from app.errors import Unauthorized, ValidationFailed
from app.extensions import db
from app.metrics import OPEN_STREAMS
from app.models.event import Event
from app.services import retention, sessions, stream_slots
from app.services.dispatcher import CLOSED, Subscriber, dispatcher_for

REPLAY_BATCH = 500
# A stream's place under the cap outlives its planned end by this much (clock skew, slow close).
SLOT_GRACE_SECONDS = 30


def parse_last_event_id(raw: str | None) -> int | None:
    """None when absent; 422 when malformed or beyond the newest event."""
    if raw is None or raw == "":
        return None
    # ASCII digits only: int() would also take "٣", " 3" or "1_000".
    if not re.fullmatch(r"[0-9]{1,18}", raw):
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
    (it may have missed deleted ones and should reload by REST), else None."""
    if last_event_id is None or last_event_id >= retention.kept_from():
        return None
    oldest = db.session.scalar(select(func.min(Event.id))) or retention.kept_from() + 1
    return f"event: reset\ndata: {json.dumps({'oldest_event_id': oldest})}\n\n"


def format_event(event_id: int, event_type: str, payload: dict) -> str:
    return f"id: {event_id}\nevent: {event_type}\ndata: {json.dumps(payload)}\n\n"


def open_stream(subscriber: Subscriber, last_event_id: int | None, expires_at) -> Iterator[str]:
    """Take a place under the user's stream cap, register, check the session once more (it may
    have ended before the dispatcher knew of this stream), then replay from the database page
    by page and go live: nothing falls in between."""
    config = current_app.config
    lifetime = config["EVENTS_MAX_STREAM_SECONDS"]
    # A stream also ends after EVENTS_MAX_STREAM_SECONDS; EventSource reconnects on its own with
    # Last-Event-ID, which spreads long-lived connections over workers after a deploy.
    ends_at = time.monotonic() + lifetime
    slot_expires = clock.now() + timedelta(seconds=lifetime + SLOT_GRACE_SECONDS)
    if expires_at is not None:
        slot_expires = min(slot_expires, expires_at + timedelta(seconds=SLOT_GRACE_SECONDS))
    slot = stream_slots.claim(subscriber.user_id, slot_expires)
    OPEN_STREAMS.inc()
    dispatcher = dispatcher_for(db.engine, config["EVENTS_POLL_SECONDS"])
    try:
        # Hold no pooled connection while subscribing: the first stream of a process starts
        # the dispatcher, which needs one, and a burst of streams must not hold them all.
        db.session.rollback()
        dispatcher.subscribe(subscriber)
        _check_still_allowed(subscriber)
        cursor = newest_event_id() if last_event_id is None else last_event_id
        reset = reset_event(last_event_id)
        db.session.rollback()  # a long stream must not hold a connection
    except BaseException:
        _close(dispatcher, subscriber, slot)
        raise
    heartbeat = min(config["EVENTS_HEARTBEAT_SECONDS"], lifetime)
    return _stream(dispatcher, subscriber, slot, cursor, heartbeat, ends_at, expires_at, reset)


def _check_still_allowed(subscriber: Subscriber) -> None:
    user = sessions.live_user(subscriber.user_id, subscriber.session_id)
    if user is None or not user.is_active:
        raise Unauthorized("The token has been revoked.")
    if user.is_staff != subscriber.is_staff:
        raise Unauthorized("Your role changed; open the stream again.")


def _visible(subscriber: Subscriber) -> list:
    """What `subscriber.wants` lets through, as SQL: replay reads nothing it would drop."""
    conditions = [Event.ticket_id.is_not(None)]  # no control events
    if subscriber.ticket_id is not None:
        conditions += [Event.ticket_id == subscriber.ticket_id, Event.type != "ticket.created"]
    if not subscriber.is_staff:
        conditions += [
            Event.requester_id == subscriber.user_id,
            Event.public_payload.is_not(None),
        ]
    return conditions


def _replay(engine, subscriber: Subscriber, cursor: int) -> Iterator:
    """The events after `cursor` that `subscriber` may see, read a page at a time, so that
    resuming from an old id costs no more memory than one page. Each page borrows a pooled
    connection of its own and gives it back: the stream outlives the request's session."""
    page = (
        select(*Event.__table__.columns)
        .where(*_visible(subscriber), Event.id > bindparam("cursor"))
        .order_by(Event.id)
        .limit(REPLAY_BATCH)
    )
    while True:
        with engine.connect() as connection:
            batch = connection.execute(page, {"cursor": cursor}).all()
        yield from batch
        if len(batch) < REPLAY_BATCH:
            return
        cursor = batch[-1].id


def _stream(
    dispatcher, subscriber, slot, cursor, heartbeat, ends_at, expires_at, reset
) -> Iterator[str]:
    try:
        yield "retry: 2000\n: connected\n\n"
        if reset:
            yield reset
        for event in _replay(dispatcher.engine, subscriber, cursor):
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
        _close(dispatcher, subscriber, slot)


def _close(dispatcher, subscriber: Subscriber, slot: int) -> None:
    dispatcher.unsubscribe(subscriber)
    stream_slots.release(db.engine, slot)
    OPEN_STREAMS.dec()
