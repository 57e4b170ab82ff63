"""`flask worker`: Huey's consumer, plus the worker's pulse.

Huey runs periodic tasks at most once a minute. Two things need a shorter beat, so each
worker process also runs one small thread, the pulse, that does no work itself:
- it writes the worker's heartbeat every WORKER_HEARTBEAT_SECONDS (read by /health);
- it watches the outbox and, when events were added, queues `fan_out_events` and
  `fan_out_mails`, which turn them into webhook deliveries and notification mails. On
  PostgreSQL it wakes on the NOTIFY that every event commit sends (the same one the event
  streams use); it also looks every WORKER_POLL_SECONDS. After queueing them it lets
  FANOUT_GAP_SECONDS pass before the next time, so that a steady stream of commits makes a
  fan-out per batch of events rather than one per event;
- it queues the tasks declared with `queue.every(setting)` every `setting` seconds.
"""

import logging
import os
import select
import socket
import threading
import time

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select as sql_select

from app.extensions import db
from app.models.event import Event
from app.services import heartbeats
from app.services.events import NOTIFY_CHANNEL
from app.tasks.queue import INTERVAL_TASKS, enqueue_quietly, huey

logger = logging.getLogger(__name__)
# At 200 events a second, 10 events a fan-out instead of 1; adds at most this to a delivery.
FANOUT_GAP_SECONDS = 0.05


def run(app: Flask, threads: int) -> None:
    """Run a consumer with `threads` task threads until SIGINT or SIGTERM (graceful: tasks in
    flight finish; an attempt cut short is retried by the sweep after its lease)."""
    consumer = huey.create_consumer(
        workers=threads,
        periodic=True,
        worker_type="thread",
        # SQLite storage is polled: look at least every second when idle (Redis blocks).
        initial_delay=0.1,
        max_delay=1.0,
        graceful_signal="TERM",
        shutdown_timeout=app.config["WEBHOOK_TIMEOUT_SECONDS"] + 5,
    )
    pulse = Pulse(app, on_new_events=queue_fan_outs)
    pulse.start()
    try:
        consumer.run()
    finally:
        pulse.stop()


def queue_fan_outs() -> None:
    """The tasks that read new outbox events."""
    from app.tasks import mail, webhooks

    enqueue_quietly(webhooks.fan_out_events)
    enqueue_quietly(mail.fan_out_mails)


class Pulse(threading.Thread):
    """Heartbeats, a call to `on_new_events` whenever the outbox has grown, and the interval
    tasks, each `(task, setting)` queued every app.config[setting] seconds."""

    def __init__(self, app: Flask, on_new_events, interval_tasks=None) -> None:
        super().__init__(name="worker-pulse", daemon=True)
        self.app = app
        self.on_new_events = on_new_events
        self.interval_tasks = INTERVAL_TASKS if interval_tasks is None else interval_tasks
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.newest_seen: int | None = None

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        with self.app.app_context():
            heartbeats.forget(self.worker_id)
            db.session.commit()

    def run(self) -> None:
        config = self.app.config
        beat_every = config["WORKER_HEARTBEAT_SECONDS"]
        poll_every = config["WORKER_POLL_SECONDS"]
        next_beat = 0.0
        next_runs = [0.0] * len(self.interval_tasks)
        with self.app.app_context():
            waiter = _NotifyWaiter(db.engine) if db.engine.dialect.name == "postgresql" else None
            while not self.stopping.is_set():
                try:
                    if time.monotonic() >= next_beat:
                        heartbeats.beat(self.worker_id)
                        db.session.commit()
                        next_beat = time.monotonic() + beat_every
                    if self._check_outbox():
                        self.stopping.wait(FANOUT_GAP_SECONDS)
                    for index, (task, setting) in enumerate(self.interval_tasks):
                        if time.monotonic() >= next_runs[index]:
                            enqueue_quietly(task)
                            next_runs[index] = time.monotonic() + config[setting]
                except Exception:
                    db.session.rollback()
                    logger.warning("Worker pulse failed; retrying", exc_info=True)
                due = min([next_beat, *next_runs])
                timeout = max(0.0, min(poll_every, due - time.monotonic()))
                if waiter is not None:
                    waiter.wait(timeout, self.stopping)
                else:
                    self.stopping.wait(timeout)
            if waiter is not None:
                waiter.close()

    def _check_outbox(self) -> bool:
        """Call `on_new_events` if the outbox grew since the last look; whether it did."""
        newest = db.session.scalar(sql_select(func.max(Event.id))) or 0
        db.session.rollback()  # hold no transaction between beats
        if self.newest_seen is None or newest > self.newest_seen:
            self.newest_seen = newest
            self.on_new_events()
            return True
        return False


class _NotifyWaiter:
    """Sleeps until a NOTIFY on the outbox channel, the timeout, or stop."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.raw = None

    def wait(self, timeout: float, stopping: threading.Event) -> None:
        try:
            if self.raw is None:
                self.raw = self.engine.raw_connection()
                self.raw.driver_connection.autocommit = True
                self.raw.driver_connection.cursor().execute(f"LISTEN {NOTIFY_CHANNEL}")
            connection = self.raw.driver_connection
            ready, _, _ = select.select([connection], [], [], timeout)
            if ready:
                connection.poll()
                connection.notifies.clear()
        except Exception:
            logger.warning("Worker pulse lost LISTEN; polling", exc_info=True)
            self.close()
            stopping.wait(timeout)

    def close(self) -> None:
        if self.raw is not None:
            try:
                self.raw.invalidate()
            except Exception:
                pass
            self.raw = None
