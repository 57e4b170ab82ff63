"""The per-process event dispatcher and the subscribers of open streams.

One background thread per worker process reads new rows of the outbox in id order and hands
them to that process's subscribers in memory; `session.ended` control events close the streams
of ended sessions and of users whose role or active flag changed (app/services/sessions.py).
On PostgreSQL it sleeps in LISTEN and wakes on the NOTIFY that each writing transaction sends at
commit, polling at least every second as a fallback; on SQLite it polls. Live streams never
query the database for events themselves (a resuming stream replays its backlog page by page).
"""

import logging
import queue
import select
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine

from app.models.event import Event
from app.services.events import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)
BATCH = 500
CLOSED = object()  # put on a subscriber's queue to end its stream


@dataclass(eq=False)
class Subscriber:
    """One open stream: who listens, to what, and its bounded buffer."""

    user_id: int
    is_staff: bool
    session_id: str
    ticket_id: int | None = None
    buffer: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=1000))
    closed_reason: str | None = None

    def wants(self, event: Event) -> dict | None:
        """The payload this subscriber may see of `event`, or None."""
        if event.ticket_id is None:
            return None  # a control event
        if self.ticket_id is not None and (
            event.ticket_id != self.ticket_id or event.type == "ticket.created"
        ):
            return None
        if self.is_staff:
            return event.payload
        if event.requester_id != self.user_id:
            return None
        return event.public_payload

    def offer(self, item) -> None:
        try:
            self.buffer.put_nowait(item)
        except queue.Full:
            # A client that stops reading must not hold up the others: close it; it can resume.
            self.close("too far behind")

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            try:
                self.buffer.put_nowait(CLOSED)
            except queue.Full:
                pass  # the stream sees closed_reason at its next read


class Dispatcher:
    def __init__(self, engine: Engine, poll_seconds: float):
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.subscribers: set[Subscriber] = set()
        self.lock = threading.Lock()
        self.start_lock = threading.Lock()
        self.last_id = 0
        self.generation = 0  # bumped by reset_dispatchers(); a tick from before it is dropped
        self.thread: threading.Thread | None = None

    def subscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.add(subscriber)
        self.ensure_running()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(subscriber)

    def ensure_running(self) -> None:
        # A lock of its own: delivery and (un)subscribing never wait on a database connection.
        with self.start_lock:
            if self.thread is not None and self.thread.is_alive():
                return
            with self.engine.connect() as connection:
                last_id = connection.scalar(sql_select(func.max(Event.id))) or 0
            with self.lock:
                self.last_id = last_id
            self.thread = threading.Thread(target=self._run, name="event-dispatcher", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                if self.engine.dialect.name == "postgresql":
                    self._listen_loop()
                else:
                    self._poll_loop()
            except Exception:
                logger.warning("Event dispatcher lost the database; retrying", exc_info=True)
                time.sleep(min(self.poll_seconds, 1.0))

    def _poll_loop(self) -> None:
        while True:
            self.tick()
            time.sleep(self.poll_seconds)

    def _listen_loop(self) -> None:
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True
            cursor = raw.driver_connection.cursor()
            cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            connection = raw.driver_connection
            while True:
                self.tick()
                ready, _, _ = select.select([connection], [], [], self.poll_seconds)
                if ready:
                    connection.poll()
                    connection.notifies.clear()
        finally:
            raw.invalidate()

    def tick(self) -> None:
        """Deliver every event committed since the last tick."""
        generation = self.generation
        with self.engine.connect() as connection:
            while True:
                rows = connection.execute(
                    sql_select(Event).where(Event.id > self.last_id).order_by(Event.id).limit(BATCH)
                ).all()
                if generation != self.generation:
                    return
                for row in rows:
                    self.deliver(row)
                    self.last_id = row.id
                if len(rows) < BATCH:
                    break

    def deliver(self, event) -> None:
        with self.lock:
            subscribers = list(self.subscribers)
        if event.ticket_id is None:  # a control event
            if event.type != "session.ended":
                return
            for subscriber in subscribers:
                if session_ended_for(subscriber, event.payload):
                    subscriber.close("session ended")
            return
        for subscriber in subscribers:
            if subscriber.closed_reason is None and subscriber.wants(event) is not None:
                subscriber.offer(event)


def session_ended_for(subscriber: Subscriber, ended: dict) -> bool:
    """Whether a `session.ended` event (`{"session_id"}` or `{"user_id", "except_session_id"}`)
    ends this subscriber's stream."""
    if ended.get("session_id") is not None:
        return ended["session_id"] == subscriber.session_id
    return (
        ended.get("user_id") == subscriber.user_id
        and ended.get("except_session_id") != subscriber.session_id
    )


_dispatchers: dict[int, Dispatcher] = {}
_create_lock = threading.Lock()


def dispatcher_for(engine: Engine, poll_seconds: float) -> Dispatcher:
    """This process's dispatcher for `engine` (one per database)."""
    with _create_lock:
        key = id(engine)
        if key not in _dispatchers:
            _dispatchers[key] = Dispatcher(engine, poll_seconds)
        return _dispatchers[key]


def close_all_streams(reason: str) -> None:
    """End every open stream of this process; clients resume elsewhere with Last-Event-ID."""
    for dispatcher in list(_dispatchers.values()):
        with dispatcher.lock:
            subscribers = list(dispatcher.subscribers)
        for subscriber in subscribers:
            subscriber.close(reason)


def reset_dispatchers() -> None:
    """Forget every event seen so far; for tests that empty the database between cases."""
    for dispatcher in _dispatchers.values():
        with dispatcher.lock:
            dispatcher.last_id = 0
            dispatcher.generation += 1
    close_all_streams("reset")
