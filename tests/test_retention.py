"""Retention: old events (unless a pending delivery or the fan-out still needs them), old
idempotency keys and finished deliveries, in bounded batches; `event: reset` on a resume from
deleted events."""

import json
from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import AuthSession, Event, EventStream, IdempotencyKey, Webhook, WebhookDelivery
from app.models.background import FANOUT, MAIL, RETENTION
from app.services import outbox_positions, retention
from app.tasks.retention import apply_retention
from tests.helpers import bearer
from tests.test_auth import tokens_for
from tests.test_events import StreamReader

DAY = timedelta(days=1)


def add_events(*ages: timedelta) -> list[int]:
    """Events created `age` ago each, oldest first as given; their ids."""
    now = clock.now()
    events = [
        Event(
            type="ticket.updated",
            ticket_id=1,
            requester_id=1,
            payload={"n": number},
            public_payload={"n": number},
            created_at=now - age,
        )
        for number, age in enumerate(ages)
    ]
    db.session.add_all(events)
    db.session.commit()
    return [event.id for event in events]


def fanned_out_to(event_id: int, readers=(FANOUT, MAIL)) -> None:
    for reader in readers:
        outbox_positions.lock(reader)
        outbox_positions.advance(reader, event_id)
    db.session.commit()


def kept_ids() -> list[int]:
    db.session.expire_all()
    return db.session.scalars(select(Event.id).order_by(Event.id)).all()


def pending_delivery_of(event_id: int, status: str = "pending") -> None:
    webhook = Webhook(url="https://93.184.215.14/", events=["*"], secret="x" * 64)
    db.session.add(webhook)
    db.session.flush()
    db.session.add(
        WebhookDelivery(
            webhook_id=webhook.id,
            event_id=event_id,
            event_type="ticket.updated",
            status=status,
            next_attempt_at=clock.now() if status == "pending" else None,
        )
    )
    db.session.commit()


def test_events_older_than_the_retention_go_and_younger_ones_stay():
    ids = add_events(9 * DAY, 8 * DAY, 8 * DAY, 6 * DAY, timedelta(hours=1))
    fanned_out_to(ids[-1])
    assert retention.delete_old_events() == 3
    db.session.commit()
    assert kept_ids() == ids[3:]
    assert retention.kept_from() == ids[2]
    assert retention.delete_old_events() == 0


def test_an_event_a_pending_delivery_needs_is_kept_with_every_later_one():
    ids = add_events(10 * DAY, 9 * DAY, 9 * DAY, 8 * DAY, timedelta(hours=1))
    fanned_out_to(ids[-1])
    pending_delivery_of(ids[2])
    pending_delivery_of(ids[0], status="failed")  # finished deliveries hold nothing back
    assert retention.delete_old_events() == 2
    db.session.commit()
    assert kept_ids() == ids[2:]
    assert retention.kept_from() == ids[1]


def test_events_not_yet_turned_into_deliveries_are_kept():
    ids = add_events(10 * DAY, 9 * DAY, 9 * DAY)
    assert retention.delete_old_events() == 0  # the fan-out never ran
    fanned_out_to(ids[0])
    assert retention.delete_old_events() == 1
    db.session.commit()
    assert kept_ids() == ids[1:]


def test_events_not_yet_turned_into_mails_are_kept():
    ids = add_events(10 * DAY, 9 * DAY, 9 * DAY)
    fanned_out_to(ids[-1], readers=(FANOUT,))
    assert retention.delete_old_events() == 0  # the mail fan-out never ran
    fanned_out_to(ids[1], readers=(MAIL,))
    assert retention.delete_old_events() == 2
    db.session.commit()
    assert kept_ids() == ids[2:]


def test_the_newest_event_is_always_kept():
    ids = add_events(10 * DAY, 9 * DAY)
    fanned_out_to(ids[-1])
    assert retention.delete_old_events() == 1
    db.session.commit()
    assert kept_ids() == [ids[-1]]


def test_events_are_deleted_in_bounded_batches(app):
    ids = add_events(*([10 * DAY] * 7), timedelta(0))
    fanned_out_to(ids[-1])
    assert retention.delete_old_events(batch=3) == 3
    assert kept_ids() == ids[3:]
    assert retention.delete_old_events(batch=3) == 3
    assert retention.delete_old_events(batch=3) == 1
    assert retention.delete_old_events(batch=3) == 0
    assert kept_ids() == [ids[-1]]


def test_the_retention_period_is_configurable(app):
    ids = add_events(3 * DAY, 1 * DAY, timedelta(0))
    fanned_out_to(ids[-1])
    app.config["EVENTS_RETENTION_DAYS"] = 2
    try:
        assert retention.delete_old_events() == 1
    finally:
        app.config["EVENTS_RETENTION_DAYS"] = 7
    assert kept_ids() == ids[1:]


def test_the_periodic_task_deletes_old_keys_deliveries_and_events(make_user):
    user = make_user("requester")
    now = clock.now()
    for number, age in enumerate((25, 23)):
        db.session.add(
            IdempotencyKey(
                user_id=user.id,
                key=f"key-{number}",
                endpoint="tickets",
                request_hash="h",
                status_code=201,
                response_body="{}",
                created_at=now - timedelta(hours=age),
            )
        )
    ids = add_events(10 * DAY, timedelta(0))
    fanned_out_to(ids[-1])
    webhook = Webhook(url="https://93.184.215.14/", events=["*"], secret="x" * 64)
    db.session.add(webhook)
    db.session.flush()
    for status, age in (("succeeded", 31), ("failed", 31), ("succeeded", 29), ("pending", 40)):
        db.session.add(
            WebhookDelivery(
                webhook_id=webhook.id,
                event_type="ping",
                status=status,
                created_at=now - timedelta(days=age),
            )
        )
    db.session.commit()

    deleted = apply_retention.call_local()

    assert deleted == {
        "events": 1,
        "idempotency_keys": 1,
        "webhook_deliveries": 2,
        "auth_sessions": 0,
        "event_streams": 0,
        "worker_heartbeats": 0,
    }
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["key-1"]
    remaining = db.session.execute(select(WebhookDelivery.status).order_by(WebhookDelivery.id))
    assert [row.status for row in remaining] == ["succeeded", "pending"]
    assert kept_ids() == [ids[-1]]


@pytest.fixture
def stream(client, admin, auth):
    readers = []

    def open_from(last_event_id: int) -> StreamReader:
        headers = {**auth(admin), "Last-Event-ID": str(last_event_id)}
        response = client.get("/api/events", headers=headers, buffered=False)
        assert response.status_code == 200
        reader = StreamReader(response)
        readers.append(reader)
        return reader

    yield open_from
    from app.services.dispatcher import reset_dispatchers

    reset_dispatchers()
    for reader in readers:
        reader.close()


def first_blocks(reader: StreamReader, count: int) -> list[dict]:
    found = []
    for block in reader.blocks(timeout=3):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in fields:
            found.append(fields)
            if len(found) == count:
                break
    return found


def test_ended_and_expired_sessions_and_dead_streams_places_go(client, make_user):
    user = make_user("requester")
    ended, live = tokens_for(client, user), tokens_for(client, user)
    assert client.post("/api/auth/logout", headers=bearer(ended["access_token"])).status_code
    now = clock.now()
    db.session.add_all(
        [
            AuthSession(id="e" * 32, user_id=user.id, expires_at=now - timedelta(seconds=1)),
            EventStream(user_id=user.id, opened_at=now - DAY, expires_at=now - timedelta(1)),
            EventStream(user_id=user.id, opened_at=now, expires_at=now + DAY),
        ]
    )
    db.session.commit()

    deleted = apply_retention.call_local()

    assert (deleted["auth_sessions"], deleted["event_streams"]) == (2, 1)
    db.session.expire_all()
    live_session = decode_token(live["access_token"])["sid"]
    assert db.session.scalars(select(AuthSession.id)).all() == [live_session]
    assert [row.expires_at > now for row in db.session.scalars(select(EventStream))] == [True]
    assert client.get("/api/auth/me", headers=bearer(live["access_token"])).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(ended["access_token"])).status_code == 401


def test_a_resume_from_a_deleted_event_gets_reset_then_the_kept_events(stream):
    ids = add_events(10 * DAY, 9 * DAY, 9 * DAY, timedelta(hours=2), timedelta(hours=1))
    fanned_out_to(ids[-1])
    assert retention.delete_old_events() == 3
    db.session.commit()
    assert outbox_positions.read(RETENTION) == ids[2]

    blocks = first_blocks(stream(ids[0]), 3)
    assert blocks[0]["event"] == "reset"
    assert "id" not in blocks[0]  # the client's Last-Event-ID stays where it was
    assert json.loads(blocks[0]["data"]) == {"oldest_event_id": ids[3]}
    assert [(int(block["id"]), block["event"]) for block in blocks[1:]] == [
        (ids[3], "ticket.updated"),
        (ids[4], "ticket.updated"),
    ]


def test_a_resume_from_a_kept_or_the_last_deleted_event_gets_no_reset(stream):
    ids = add_events(10 * DAY, 9 * DAY, timedelta(hours=2), timedelta(hours=1))
    fanned_out_to(ids[-1])
    assert retention.delete_old_events() == 2
    db.session.commit()
    for last_event_id, expected in ((ids[1], ids[2:]), (ids[2], ids[3:])):
        blocks = first_blocks(stream(last_event_id), len(expected))
        assert [int(block["id"]) for block in blocks] == expected
        assert all(block["event"] == "ticket.updated" for block in blocks)


def test_no_reset_before_retention_ever_deleted_anything(stream):
    ids = add_events(10 * DAY, timedelta(hours=1))
    blocks = first_blocks(stream(0), 2)
    assert [block["event"] for block in blocks] == ["ticket.updated", "ticket.updated"]
    assert [int(block["id"]) for block in blocks] == ids
