"""Webhook deliveries: made from the outbox, attempted, retried, swept up, listed.

State lives in `webhook_deliveries`; the task queue only says "look at delivery N now".
- Fan-out walks the events after the stored high-water mark, holding its row so that workers
  take turns, and inserts one delivery per (event, subscribed webhook); the unique constraint
  makes a second one impossible even so. On PostgreSQL a fan-out that finds the row held
  returns at once instead of queueing behind it (under a steady stream of events, queued
  fan-outs took every task thread): the holder looks at the outbox again after its commit
  (`events_waiting`), so an event that the skipped one was for is still picked up.
- An attempt is claimed with one UPDATE that only a pending, due, unleased delivery matches,
  and that counts the attempt and leases it: two workers never send the same attempt. The
  result is recorded only if the delivery is still at that attempt.
- A worker that dies mid-attempt leaves a lease that runs out; a task lost with the queue
  leaves a due delivery. The sweep finds both.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from app import clock
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models.background import FANOUT, OutboxPosition
from app.models.event import Event
from app.models.webhook import PING, Webhook, WebhookDelivery
from app.services import (
    outbox_positions,
    pagination,
    signatures,
    webhook_sender,
    webhook_targets,
)

FANOUT_BATCH = 500
# `session.*` and `internal.*` events are the service's own control messages (e.g. "end these
# streams"): never delivered, and never matched by "*".
INTERNAL_PREFIXES = ("session.", "internal.")


def subscribed(webhook_events: list[str], event_type: str) -> bool:
    if event_type.startswith(INTERNAL_PREFIXES):
        return False
    return "*" in webhook_events or event_type in webhook_events


def fan_out(batch_size: int = FANOUT_BATCH) -> list[int] | None:
    """Deliveries for the next `batch_size` events after the high-water mark: their ids, or
    None when another fan-out holds the mark. The caller commits, and only then enqueues the
    ids; then, while `events_waiting()`, it calls again."""
    position = _take_position()
    if position is None:
        return None
    now = clock.now()
    # Read the events before the webhooks: a webhook missing from the second read was created
    # after every event of the first, so it is owed none of them.
    newest = db.session.scalar(select(func.max(Event.id))) or 0
    webhooks = db.session.scalars(select(Webhook).where(Webhook.is_active)).all()
    if not webhooks:
        outbox_positions.advance(FANOUT, newest)
        return []
    events = db.session.execute(
        select(Event.id, Event.type, Event.created_at)
        .where(Event.id > position, Event.id <= newest)
        .order_by(Event.id)
        .limit(batch_size)
    ).all()
    if not events:
        return []
    rows = [
        {
            "webhook_id": webhook.id,
            "event_id": event.id,
            "event_type": event.type,
            "status": "pending",
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for webhook in webhooks
        if subscribed(webhook.events, event.type) and event.created_at >= webhook.created_at
    ]
    created = outbox_positions.insert_ignoring_duplicates(
        WebhookDelivery, rows, returning=WebhookDelivery.id
    )
    outbox_positions.advance(FANOUT, events[-1].id)
    return created


def _take_position() -> int | None:
    """The high-water mark, its row held until commit; None when another transaction holds it
    (PostgreSQL; SQLite has one writer at a time anyway, so there the call waits its turn)."""
    if db.session.get_bind().dialect.name == "postgresql":
        held = db.session.execute(
            select(OutboxPosition.name)
            .where(OutboxPosition.name == FANOUT)
            .with_for_update(skip_locked=True)
        ).first()
        exists = select(OutboxPosition.name).where(OutboxPosition.name == FANOUT).exists()
        if held is None and db.session.scalar(select(exists)):
            return None  # held; no row yet: `lock` makes it
    return outbox_positions.lock(FANOUT)


def events_waiting() -> bool:
    """Whether the outbox holds events after the fan-out's high-water mark (read without a
    lock, after the caller's commit)."""
    newest = db.session.scalar(select(func.max(Event.id))) or 0
    return newest > outbox_positions.read(FANOUT)


def due_ids(limit: int = 1000) -> list[int]:
    """Pending deliveries whose attempt is due and not held by a live worker."""
    now = clock.now()
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Attempt:
    """An attempt a worker claimed: which one, and what to send where."""

    delivery_id: int
    number: int  # the delivery's `attempts` after the claim: identifies this attempt
    round_number: int  # attempts since creation or redelivery: indexes the retry schedule
    event_type: str
    url: str
    secret: str
    body: bytes | None  # None: the event is gone (retention), nothing to send


def claim(delivery_id: int) -> Attempt | None:
    """Claim the next attempt of a delivery, or None when it is not due or another worker has
    it. Commit before sending, so that the claim holds while the request is out."""
    now = clock.now()
    lease = timedelta(seconds=current_app.config["WEBHOOK_LEASE_SECONDS"])
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
        )
        .values(
            attempts=WebhookDelivery.attempts + 1,
            round_attempts=WebhookDelivery.round_attempts + 1,
            locked_until=now + lease,
        )
        .returning(
            WebhookDelivery.attempts,
            WebhookDelivery.round_attempts,
            WebhookDelivery.webhook_id,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookDelivery.created_at,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    webhook = db.session.get(Webhook, claimed.webhook_id)
    if webhook is None:  # deleted meanwhile: its deliveries go with it
        return None
    return Attempt(
        delivery_id=delivery_id,
        number=claimed.attempts,
        round_number=claimed.round_attempts,
        event_type=claimed.event_type,
        url=webhook.url,
        secret=webhook.secret,
        body=_body(webhook, claimed.event_id, claimed.event_type, claimed.created_at),
    )


def _body(webhook: Webhook, event_id: int | None, event_type: str, created_at) -> bytes | None:
    if event_type == PING:
        document = {
            "id": None,
            "type": PING,
            "created_at": _iso(created_at),
            "data": {"webhook_id": webhook.id, "events": webhook.events},
        }
    else:
        event = db.session.get(Event, event_id)
        if event is None:
            return None
        document = {
            "id": event.id,
            "type": event.type,
            "created_at": _iso(event.created_at),
            "data": event.payload,
        }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def send(attempt: Attempt) -> webhook_sender.Outcome:
    """Check the target again (DNS may have changed) and POST the signed body. Holds no
    database connection: call it between the claim's commit and `record`."""
    if attempt.body is None:
        return webhook_sender.Outcome(False, error="The event is no longer kept (retention).")
    config = current_app.config
    try:
        target = webhook_targets.check(attempt.url, config["WEBHOOK_ALLOWED_HOSTS"])
    except webhook_targets.UnsafeTarget as error:
        return webhook_sender.Outcome(False, error=f"Refused target: {error}")
    headers = {
        "X-ServiceDesk-Event": attempt.event_type,
        "X-ServiceDesk-Delivery": str(attempt.delivery_id),
        signatures.HEADER: signatures.signature_header(attempt.secret, attempt.body),
    }
    return webhook_sender.post(target, attempt.body, headers, config["WEBHOOK_TIMEOUT_SECONDS"])


def record(attempt: Attempt, outcome: webhook_sender.Outcome) -> float | None:
    """Store the attempt's outcome; the seconds until the next attempt, or None when there is
    none (succeeded, failed for good, or the attempt was no longer ours)."""
    now = clock.now()
    schedule = current_app.config["WEBHOOK_RETRY_SCHEDULE"]
    retry_in = None
    values: dict = {
        "last_status_code": outcome.status_code,
        "last_error": None if outcome.ok else (outcome.error or "")[:500],
        "locked_until": None,
    }
    if outcome.ok:
        values.update(status="succeeded", delivered_at=now, next_attempt_at=None)
    elif retriable(attempt) and attempt.round_number <= len(schedule):
        retry_in = schedule[attempt.round_number - 1]
        values.update(status="pending", next_attempt_at=now + timedelta(seconds=retry_in))
    else:
        values.update(status="failed", next_attempt_at=None)
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == attempt.delivery_id,
            WebhookDelivery.attempts == attempt.number,
            WebhookDelivery.status == "pending",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return retry_in if result.rowcount == 1 else None


def retriable(attempt: Attempt) -> bool:
    """Pings are tried once (the sender is watching); an event that is gone cannot be sent."""
    return attempt.body is not None and attempt.event_type != PING


def list_deliveries(webhook: Webhook, args: dict) -> dict:
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    order = pagination.Order(((WebhookDelivery.id, True),))
    return pagination.paginate(stmt, order, args, list_name=f"deliveries:{webhook.id}")


def get_delivery(webhook: Webhook, delivery_id: int) -> WebhookDelivery:
    delivery = db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook.id
        )
    )
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} of webhook {webhook.id} not found.")
    return delivery


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """A new round of attempts, starting now (the delivery keeps its id)."""
    now = clock.now()
    if delivery.status == "pending" and delivery.locked_until and delivery.locked_until > now:
        raise Conflict("The delivery is being attempted right now; try again shortly.")
    if delivery.event_id is not None and db.session.get(Event, delivery.event_id) is None:
        raise Conflict("The delivery's event is no longer kept (retention); it cannot be sent.")
    delivery.status = "pending"
    delivery.round_attempts = 0
    delivery.next_attempt_at = now
    delivery.locked_until = None
    db.session.flush()
    return delivery


def ping(webhook: Webhook) -> WebhookDelivery:
    now = clock.now()
    delivery = WebhookDelivery(
        webhook_id=webhook.id, event_type=PING, next_attempt_at=now, created_at=now
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery
