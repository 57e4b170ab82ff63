"""Worker heartbeats: each worker process touches its row; /health reads the newest."""

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from app import clock
from app.extensions import db
from app.models.background import WorkerHeartbeat

LATE_AFTER_BEATS = 3


def beat(worker_id: str) -> None:
    now = clock.now()
    touched = db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.worker_id == worker_id)
        .values(last_seen_at=now)
    ).rowcount
    if not touched:
        db.session.add(WorkerHeartbeat(worker_id=worker_id, started_at=now, last_seen_at=now))
    db.session.flush()


def forget(worker_id: str) -> None:
    """A worker that stops cleanly removes its row."""
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))


def worker_status(interval_seconds: float) -> str:
    """ "ok" when some worker beat within three intervals, else "late"."""
    newest = db.session.scalar(select(func.max(WorkerHeartbeat.last_seen_at)))
    if newest is None:
        return "late"
    late_after = timedelta(seconds=LATE_AFTER_BEATS * interval_seconds)
    return "ok" if clock.now() - newest <= late_after else "late"


def delete_stale(older_than: timedelta, batch: int) -> int:
    """Rows of workers gone for `older_than` (killed ones never remove theirs)."""
    cutoff = clock.now() - older_than
    ids = (
        select(WorkerHeartbeat.worker_id).where(WorkerHeartbeat.last_seen_at < cutoff).limit(batch)
    )
    return db.session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id.in_(ids))
    ).rowcount
