"""Retention: old events, idempotency keys, finished deliveries, ended login sessions, places
of streams whose worker died, and heartbeats, in batches."""

from huey import crontab

from app.extensions import db
from app.services import retention
from app.tasks.queue import periodic

# Batches per kind and run: a run stays short, and the next one (an hour later) goes on.
MAX_BATCHES = 100


@periodic(crontab(minute="7"))
def apply_retention() -> dict[str, int]:
    deleted = {}
    for name, delete_batch in (
        ("events", retention.delete_old_events),
        ("idempotency_keys", retention.delete_old_idempotency_keys),
        ("webhook_deliveries", retention.delete_old_deliveries),
        ("auth_sessions", retention.delete_finished_sessions),
        ("event_streams", retention.delete_expired_stream_places),
        ("worker_heartbeats", retention.delete_stale_heartbeats),
    ):
        deleted[name] = 0
        for _ in range(MAX_BATCHES):
            count = delete_batch()
            db.session.commit()  # one batch per transaction: locks stay short
            deleted[name] += count
            if count < retention.BATCH:
                break
    return deleted
