"""`flask worker` processes: heartbeats in /health, several workers delivering each event
exactly once through Redis (database 7), and a worker killed in the middle of a delivery."""

import json
import os
import signal
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Event, WebhookDelivery, WorkerHeartbeat
from tests.receiver import Receiver
from tests.workers import REDIS_QUEUE_URL, stop, wait_until, worker_process


@pytest.fixture
def redis_queue():
    client = redis.Redis.from_url(REDIS_QUEUE_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    client.flushdb()
    yield REDIS_QUEUE_URL
    client.flushdb()


@pytest.fixture
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


def subscribe(client, headers, url, events=("*",)) -> dict:
    response = client.post(
        "/api/webhooks", json={"url": url, "events": list(events)}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def raise_tickets(client, headers, count: int) -> None:
    for number in range(count):
        body = {"title": f"Laptop {number} will not boot", "description": "Black screen."}
        assert client.post("/api/tickets", json=body, headers=headers).status_code == 201


def delivery_rows() -> list:
    with db.engine.connect() as connection:
        return connection.execute(select(WebhookDelivery.__table__)).mappings().all()


def test_health_reports_a_beating_worker_ok_and_a_silent_one_late(client, app):
    assert client.get("/health").get_json()["worker"] == "late"
    process = worker_process()
    try:
        response = client.get("/health")
        assert response.status_code == 200
        assert response.get_json()["worker"] == "ok"
        seen = db.session.scalar(select(WorkerHeartbeat.last_seen_at))
        time.sleep(3 * app.config["WORKER_HEARTBEAT_SECONDS"])
        db.session.rollback()
        assert db.session.scalar(select(WorkerHeartbeat.last_seen_at)) > seen  # it beats
        assert client.get("/health").get_json()["worker"] == "ok"
    finally:
        stop(process)
    # A clean stop removes its heartbeat.
    assert db.session.scalar(select(func.count()).select_from(WorkerHeartbeat)) == 0
    assert client.get("/health").get_json()["worker"] == "late"


def test_a_heartbeat_older_than_three_intervals_is_late(client, app):
    interval = app.config["WORKER_HEARTBEAT_SECONDS"]
    beat = WorkerHeartbeat(
        worker_id="gone:1",
        started_at=clock.now() - timedelta(hours=1),
        last_seen_at=clock.now() - timedelta(seconds=2.5 * interval),
    )
    db.session.add(beat)
    db.session.commit()
    assert client.get("/health").get_json()["worker"] == "ok"
    beat.last_seen_at = clock.now() - timedelta(seconds=3.5 * interval)
    db.session.commit()
    response = client.get("/health")
    assert response.status_code == 200  # a late worker does not make the API unhealthy
    assert response.get_json() == {**response.get_json(), "status": "ok", "worker": "late"}


def test_two_workers_on_redis_make_and_send_exactly_one_delivery_per_event_and_webhook(
    client, admin, requester, auth, receiver, redis_queue
):
    first = subscribe(client, auth(admin), receiver.url)
    second = subscribe(client, auth(admin), receiver.url, events=["ticket.created"])
    workers = [worker_process(threads=3, TEST_QUEUE_URL=redis_queue) for _ in range(2)]
    try:
        raise_tickets(client, auth(requester), 15)
        events = db.session.execute(select(Event.id, Event.type)).all()
        created = [event.id for event in events if event.type == "ticket.created"]
        expected = len(events) + len(created)
        assert len(created) == 15 and len(events) == 30
        requests = receiver.wait_for(expected, timeout=30)
        assert wait_until(
            lambda: (
                all(row["status"] == "succeeded" for row in delivery_rows())
                and len(delivery_rows()) == expected
            ),
            timeout=10,
        )
        assert len(receiver.wait_for(expected + 1, timeout=1.5)) == expected
    finally:
        for process in workers:
            stop(process)
    rows = delivery_rows()
    pairs = sorted((row["webhook_id"], row["event_id"]) for row in rows)
    assert pairs == sorted(
        [(first["id"], event.id) for event in events] + [(second["id"], id_) for id_ in created]
    )
    assert [row["attempts"] for row in rows] == [1] * expected
    sent = [request.headers["X-ServiceDesk-Delivery"] for request in requests]
    assert sorted(sent) == sorted(str(row["id"]) for row in rows)  # each one, once
    bodies = {json.loads(request.body)["id"] for request in requests}
    assert bodies == {event.id for event in events}


def test_a_worker_killed_mid_delivery_is_replaced_and_the_delivery_kept(
    client, admin, requester, auth, redis_queue
):
    # The first attempt hangs at the receiver; the worker making it is killed (its dequeued
    # task dies with it). When its lease runs out, the sweep of the next worker sends it again.
    receiver = Receiver(answers=[("hang", 15)], default=200)
    env = {"TEST_QUEUE_URL": redis_queue, "WEBHOOK_LEASE_SECONDS": "2"}
    try:
        webhook = subscribe(client, auth(admin), receiver.url, events=["ticket.created"])
        doomed = worker_process(**env)
        raise_tickets(client, auth(requester), 1)
        [first] = receiver.wait_for(1)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        [row] = delivery_rows()
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert row["locked_until"] is not None
        time.sleep(2.2)  # the lease runs out
        successor = worker_process(**env)
        try:
            requests = receiver.wait_for(2, timeout=15)
            assert wait_until(lambda: delivery_rows()[0]["status"] == "succeeded")
        finally:
            stop(successor)
    finally:
        receiver.close()
    assert len(requests) == 2
    assert requests[1].headers["X-ServiceDesk-Delivery"] == first.headers["X-ServiceDesk-Delivery"]
    assert requests[1].body == first.body
    [row] = delivery_rows()
    assert (row["webhook_id"], row["status"], row["attempts"]) == (webhook["id"], "succeeded", 2)


def test_the_pulse_queues_interval_tasks_every_so_many_seconds(app):
    from app.tasks.worker import Pulse

    calls = []
    app.config["TEST_EVERY_SECONDS"] = 0.2
    pulse = Pulse(
        app,
        on_new_events=lambda: calls.append("outbox"),
        interval_tasks=[(lambda: calls.append("tick"), "TEST_EVERY_SECONDS")],
    )
    pulse.start()
    time.sleep(1.1)
    pulse.stop()
    ticks = calls.count("tick")
    assert 4 <= ticks <= 7, calls
    assert calls.count("outbox") == 1  # once at start; no event was added since
    assert db.session.scalar(select(func.count()).select_from(WorkerHeartbeat)) == 0


def test_the_readme_signature_check_accepts_our_signatures():
    import re

    from app.services import signatures
    from tests.workers import ROOT

    with open(os.path.join(ROOT, "README.md")) as readme:
        text = readme.read()
    [snippet] = re.findall(r"A receiver checks it like this:\n\n```python\n(.*?)```", text, re.S)
    namespace: dict = {}
    exec(snippet, namespace)
    body = b'{"id":7,"type":"ticket.created"}'
    header = signatures.signature_header("secret-of-the-webhook", body)
    assert namespace["verify"]("secret-of-the-webhook", header, body) is True
    assert namespace["verify"]("another-secret", header, body) is False
    old = signatures.signature_header("secret-of-the-webhook", body, int(time.time()) - 3600)
    assert namespace["verify"]("secret-of-the-webhook", old, body) is False
