"""Webhook tasks: deliveries from the outbox, attempts with their retries, and the sweep."""

import time

from huey import crontab

from app.extensions import db
from app.services import deliveries
from app.tasks.queue import enqueue_quietly, periodic, task

# A fan-out goes on while events keep coming; past this it hands on to a new task, so that no
# thread (the sweep's, say) is held for ever under a steady stream, nor a graceful stop delayed.
FANOUT_TASK_SECONDS = 5.0


@task()
def fan_out_events() -> int:
    """Turn new outbox events into deliveries, then queue their first attempts; return at once
    when another fan-out is at it (it looks at the outbox again after its commit)."""
    created = 0
    hand_on_at = time.monotonic() + FANOUT_TASK_SECONDS
    while True:
        ids = deliveries.fan_out()
        db.session.commit()
        if ids is None:
            return created
        for delivery_id in ids:
            enqueue_quietly(deliver, delivery_id)
        created += len(ids)
        waiting = deliveries.events_waiting()
        db.session.rollback()
        if not waiting:
            return created
        if time.monotonic() >= hand_on_at:
            enqueue_quietly(fan_out_events)
            return created


@task()
def deliver(delivery_id: int) -> None:
    """One attempt of a delivery, if it is due and no other worker has it."""
    attempt = deliveries.claim(delivery_id)
    db.session.commit()  # the claim holds while the request is out
    if attempt is None:
        return
    outcome = deliveries.send(attempt)
    retry_in = deliveries.record(attempt, outcome)
    db.session.commit()
    if retry_in is not None:
        deliver.schedule(args=(delivery_id,), delay=retry_in)


@periodic(crontab(minute="*"))
def sweep_deliveries() -> int:
    """Catch up with the outbox, and queue again every due attempt that no worker holds: one
    lost with the queue (a Redis restart) or with a killed worker (its lease ran out)."""
    fan_out_events.call_local()
    due = deliveries.due_ids()
    db.session.rollback()
    for delivery_id in due:
        enqueue_quietly(deliver, delivery_id)
    return len(due)


def deliver_soon(delivery_id: int) -> None:
    """Queue an attempt now (after the commit that made it due)."""
    enqueue_quietly(deliver, delivery_id)
