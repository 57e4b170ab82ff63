"""Webhook deliveries end to end: a Huey consumer (threads in this process, on the suite's
SQLite queue) sends signed requests to a real receiver on 127.0.0.1."""

import json

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Event, WebhookDelivery
from app.services import signatures
from app.tasks import webhooks as webhook_tasks
from tests.helpers import stored
from tests.receiver import Receiver
from tests.workers import consumer, wait_until


@pytest.fixture
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


@pytest.fixture
def admin_headers(admin, auth):
    return auth(admin)


@pytest.fixture
def subscribe(client, admin_headers):
    def subscribe(url, events=("ticket.created",), **fields):
        body = {"url": url, "events": list(events), **fields}
        response = client.post("/api/webhooks", json=body, headers=admin_headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return subscribe


@pytest.fixture
def raise_ticket(client, requester, auth):
    def raise_ticket(title="VPN drops every hour"):
        body = {"title": title, "description": "Since Monday.", "category": "network"}
        response = client.post("/api/tickets", json=body, headers=auth(requester))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return raise_ticket


def deliveries_of(webhook_id: int) -> list[dict]:
    table = WebhookDelivery.__table__
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(table).where(table.c.webhook_id == webhook_id).order_by(table.c.id)
        ).mappings()
        return [dict(row) for row in rows]


def finished(webhook_id: int, count: int = 1):
    rows = deliveries_of(webhook_id)
    done = [row for row in rows if row["status"] != "pending"]
    return rows if len(rows) >= count and len(done) == len(rows) else None


def test_an_event_is_delivered_once_signed_with_the_secret(app, subscribe, raise_ticket, receiver):
    webhook = subscribe(receiver.url, events=["ticket.created"])
    with consumer(app):
        ticket = raise_ticket()
        [request] = receiver.wait_for(1)
        assert wait_until(lambda: finished(webhook["id"]))
    event = db.session.scalar(select(Event).where(Event.type == "ticket.created"))
    [delivery] = deliveries_of(webhook["id"])

    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-ServiceDesk-Event"] == "ticket.created"
    assert request.headers["X-ServiceDesk-Delivery"] == str(delivery["id"])
    header = request.headers["X-ServiceDesk-Signature"]
    assert signatures.verify(webhook["secret"], header, request.body)
    assert not signatures.verify("another-secret-entirely", header, request.body)
    assert not signatures.verify(webhook["secret"], header, request.body + b" ")
    body = json.loads(request.body)
    assert (body["id"], body["type"]) == (event.id, "ticket.created")
    assert body["data"]["id"] == ticket["id"]
    assert body["data"]["title"] == "VPN drops every hour"
    assert body["created_at"].endswith("Z")

    assert (delivery["event_id"], delivery["status"], delivery["attempts"]) == (
        event.id,
        "succeeded",
        1,
    )
    assert (delivery["last_status_code"], delivery["last_error"]) == (200, None)
    assert delivery["delivered_at"] is not None and delivery["next_attempt_at"] is None
    assert len(receiver.wait_for(2, timeout=1)) == 1  # nothing more came


def test_the_signature_is_over_timestamp_and_raw_body():
    body = b'{"id":1}'
    header = signatures.signature_header("k" * 32, body, timestamp=1_700_000_000)
    expected = signatures.signature("k" * 32, 1_700_000_000, body)
    assert header == f"t=1700000000,v1={expected}"
    import hashlib
    import hmac

    assert expected == hmac.new(b"k" * 32, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signatures.verify("k" * 32, header, body, now=1_700_000_100)
    assert not signatures.verify("k" * 32, header, body, now=1_700_001_000)  # too old


def test_webhooks_get_only_the_event_types_they_subscribe_to(
    app, client, subscribe, raise_ticket, receiver, agent, auth
):
    messages_only = subscribe(receiver.url, events=["message.created"])
    everything = subscribe(receiver.url, events=["*"])
    inactive = subscribe(receiver.url, events=["*"], is_active=False)
    with consumer(app):
        ticket = raise_ticket()
        reply = {"ticket_id": ticket["id"], "body": "Looking into it."}
        assert client.post("/api/messages", json=reply, headers=auth(agent.user)).status_code == 201
        # An internal control event of the sessions work: never delivered, not even to "*".
        db.session.add(Event(type="session.ended", ticket_id=0, requester_id=0, payload={}))
        db.session.commit()
        types = db.session.scalars(select(Event.type).order_by(Event.id)).all()
        expected = len([kind for kind in types if not kind.startswith("session.")]) + 1
        assert wait_until(lambda: finished(everything["id"], expected - 1))
        receiver.wait_for(expected)
    delivered = {
        (int(request.headers["X-ServiceDesk-Delivery"]), request.headers["X-ServiceDesk-Event"])
        for request in receiver.requests
    }
    by_webhook = {
        webhook["id"]: sorted(row["event_type"] for row in deliveries_of(webhook["id"]))
        for webhook in (messages_only, everything, inactive)
    }
    assert by_webhook[messages_only["id"]] == ["message.created"]
    assert by_webhook[everything["id"]] == sorted(k for k in types if not k.startswith("session."))
    assert "session.ended" in types
    assert by_webhook[inactive["id"]] == []
    assert len(delivered) == len(receiver.requests) == expected


def test_a_failing_receiver_is_retried_on_the_schedule_with_the_same_delivery_id(
    app, subscribe, raise_ticket
):
    receiver = Receiver(answers=[500, "close"], default=200)
    try:
        webhook = subscribe(receiver.url)
        with consumer(app):
            raise_ticket()
            requests = receiver.wait_for(3, timeout=15)
            assert wait_until(lambda: finished(webhook["id"]))
    finally:
        receiver.close()
    assert len(requests) == 3
    assert len({request.headers["X-ServiceDesk-Delivery"] for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    # WEBHOOK_RETRY_SCHEDULE is 1,1 in the tests: about a second between attempts.
    gaps = [later.at - earlier.at for earlier, later in zip(requests, requests[1:], strict=False)]
    assert all(0.9 <= gap < 5 for gap in gaps), gaps
    for request in requests:
        assert signatures.verify(
            webhook["secret"], request.headers["X-ServiceDesk-Signature"], request.body
        )
    [delivery] = deliveries_of(webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "succeeded",
        3,
        200,
    )


def test_a_delivery_fails_for_good_after_the_schedule(app, subscribe, raise_ticket):
    receiver = Receiver(default=503)
    try:
        webhook = subscribe(receiver.url)
        with consumer(app):
            raise_ticket()
            assert wait_until(lambda: finished(webhook["id"]), timeout=15)
            assert len(receiver.wait_for(4, timeout=1.5)) == 3  # no fourth attempt
    finally:
        receiver.close()
    [delivery] = deliveries_of(webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "failed",
        3,
        503,
    )
    assert delivery["last_error"] == "HTTP 503."
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is None


def test_redirects_are_not_followed(app, subscribe, raise_ticket, receiver):
    elsewhere = Receiver()
    redirecting = Receiver(default=("redirect", elsewhere.url))
    try:
        webhook = subscribe(redirecting.url)
        with consumer(app):
            raise_ticket()
            assert wait_until(lambda: finished(webhook["id"]), timeout=15)
    finally:
        redirecting.close()
        elsewhere.close()
    assert len(redirecting.requests) == 3
    assert elsewhere.requests == []
    [delivery] = deliveries_of(webhook["id"])
    assert (delivery["status"], delivery["last_status_code"]) == ("failed", 302)
    assert "redirects are not followed" in delivery["last_error"]


def test_a_hanging_receiver_times_out_without_holding_up_other_deliveries(
    app, subscribe, raise_ticket, receiver
):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.5
    app.config["WEBHOOK_RETRY_SCHEDULE"] = (30,)
    hanging = Receiver(default=("hang", 3))
    try:
        slow = subscribe(hanging.url)
        fast = subscribe(receiver.url)
        with consumer(app, threads=2):
            raise_ticket()
            assert wait_until(lambda: finished(fast["id"]), timeout=5)
            assert wait_until(lambda: deliveries_of(slow["id"])[0]["last_error"], timeout=5)
    finally:
        app.config["WEBHOOK_TIMEOUT_SECONDS"] = 10
        app.config["WEBHOOK_RETRY_SCHEDULE"] = (1, 1)
        hanging.close()
    [delivery] = deliveries_of(slow["id"])
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_error"] == "Timed out after 0.5 s."
    assert delivery["next_attempt_at"] is not None and delivery["locked_until"] is None


def test_a_target_that_became_private_is_refused_at_delivery(
    app, subscribe, raise_ticket, receiver
):
    webhook = subscribe(receiver.url)
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ()
    try:
        with consumer(app):
            raise_ticket()
            assert wait_until(lambda: finished(webhook["id"]), timeout=15)
    finally:
        app.config["WEBHOOK_ALLOWED_HOSTS"] = ("127.0.0.1",)
    assert receiver.requests == []
    [delivery] = deliveries_of(webhook["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    assert delivery["last_error"].startswith("Refused target:")


def test_redeliver_sends_the_same_delivery_again(
    app, client, admin_headers, subscribe, raise_ticket, receiver
):
    webhook = subscribe(receiver.url)
    with consumer(app):
        raise_ticket()
        [first] = receiver.wait_for(1)
        assert wait_until(lambda: finished(webhook["id"]))
        delivery_id = deliveries_of(webhook["id"])[0]["id"]
        response = client.post(
            f"/api/webhooks/{webhook['id']}/deliveries/{delivery_id}/redeliver",
            headers=admin_headers,
        )
        assert response.status_code == 202
        assert (response.get_json()["id"], response.get_json()["status"]) == (
            delivery_id,
            "pending",
        )
        requests = receiver.wait_for(2)
        assert wait_until(lambda: deliveries_of(webhook["id"])[0]["attempts"] == 2)
    assert len(requests) == 2
    assert requests[1].headers["X-ServiceDesk-Delivery"] == str(delivery_id)
    assert requests[1].body == first.body
    assert stored(WebhookDelivery, delivery_id)["status"] == "succeeded"


def test_ping_sends_a_signed_ping_once(app, client, admin_headers, subscribe, receiver):
    webhook = subscribe(receiver.url, events=["ticket.updated"])
    with consumer(app):
        response = client.post(f"/api/webhooks/{webhook['id']}/ping", headers=admin_headers)
        assert response.status_code == 202
        ping = response.get_json()
        assert (ping["event_type"], ping["event_id"], ping["status"]) == ("ping", None, "pending")
        [request] = receiver.wait_for(1)
        assert wait_until(lambda: finished(webhook["id"]))
    body = json.loads(request.body)
    assert (body["type"], body["id"]) == ("ping", None)
    assert body["data"] == {"webhook_id": webhook["id"], "events": ["ticket.updated"]}
    assert request.headers["X-ServiceDesk-Delivery"] == str(ping["id"])
    assert signatures.verify(
        webhook["secret"], request.headers["X-ServiceDesk-Signature"], request.body
    )
    assert stored(WebhookDelivery, ping["id"])["status"] == "succeeded"


def test_a_failed_ping_is_not_retried(app, client, admin_headers, subscribe):
    receiver = Receiver(default=500)
    try:
        webhook = subscribe(receiver.url)
        with consumer(app):
            client.post(f"/api/webhooks/{webhook['id']}/ping", headers=admin_headers)
            assert wait_until(lambda: finished(webhook["id"]))
            assert len(receiver.wait_for(2, timeout=1.5)) == 1
    finally:
        receiver.close()
    [delivery] = deliveries_of(webhook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)


def test_a_lost_task_is_found_again_by_the_sweep(app, subscribe, raise_ticket, receiver):
    webhook = subscribe(receiver.url)
    raise_ticket()
    raise_ticket("Printer offline")
    # Deliveries made and their attempts queued, then the queue loses them (a Redis restart).
    webhook_tasks.fan_out_events.call_local()
    assert len(deliveries_of(webhook["id"])) == 2
    with consumer(app, pulse=False):  # flushes the queue before it starts
        assert receiver.wait_for(1, timeout=1) == []
        webhook_tasks.sweep_deliveries()
        assert len(receiver.wait_for(2)) == 2
        assert wait_until(lambda: finished(webhook["id"], 2))
    assert [row["attempts"] for row in deliveries_of(webhook["id"])] == [1, 1]


def test_two_workers_never_send_the_same_attempt(app, subscribe, raise_ticket, receiver):
    webhook = subscribe(receiver.url)
    for number in range(5):
        raise_ticket(f"Ticket {number}")
    webhook_tasks.fan_out_events.call_local()
    ids = [row["id"] for row in deliveries_of(webhook["id"])]
    with consumer(app, threads=4, pulse=False):
        for _ in range(3):  # every delivery queued three times over, for four threads
            for delivery_id in ids:
                webhook_tasks.deliver(delivery_id)
        assert wait_until(lambda: finished(webhook["id"], 5))
        receiver.wait_for(6, timeout=1)
    sent = sorted(request.headers["X-ServiceDesk-Delivery"] for request in receiver.requests)
    assert sent == sorted(str(delivery_id) for delivery_id in ids)
    assert [row["attempts"] for row in deliveries_of(webhook["id"])] == [1] * 5


def test_fan_outs_at_once_make_one_delivery_per_event_and_webhook(app, subscribe, raise_ticket):
    import threading

    from app.services import deliveries

    webhooks = [subscribe("http://127.0.0.1:9/hook", events=["*"]) for _ in range(2)]
    for number in range(10):
        raise_ticket(f"Ticket {number}")
    made: list[int] = []
    start = threading.Barrier(4)

    def fan_out():
        with app.app_context():
            start.wait()
            while True:
                ids = deliveries.fan_out(batch_size=3)
                db.session.commit()
                if ids is None:  # another thread holds the position (PostgreSQL)
                    break
                made.extend(ids)
                waiting = deliveries.events_waiting()
                db.session.rollback()
                if not waiting:
                    break

    threads = [threading.Thread(target=fan_out) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    events = db.session.scalars(select(Event.id)).all()
    rows = [row for webhook in webhooks for row in deliveries_of(webhook["id"])]
    assert len(events) == 20
    assert sorted((row["webhook_id"], row["event_id"]) for row in rows) == sorted(
        (webhook["id"], event_id) for webhook in webhooks for event_id in events
    )
    assert sorted(made) == sorted(row["id"] for row in rows)  # each queued by one fan-out


def test_the_database_refuses_a_second_delivery_of_an_event_to_a_webhook(subscribe, raise_ticket):
    from sqlalchemy.exc import IntegrityError

    from app.models.background import FANOUT, OutboxPosition

    webhook = subscribe("http://127.0.0.1:9/hook")
    raise_ticket()
    assert webhook_tasks.fan_out_events.call_local() == 1
    assert len(deliveries_of(webhook["id"])) == 1
    # A fan-out that lost its place makes nothing new.
    db.session.execute(
        update(OutboxPosition).where(OutboxPosition.name == FANOUT).values(event_id=0)
    )
    db.session.commit()
    assert webhook_tasks.fan_out_events.call_local() == 0
    [row] = deliveries_of(webhook["id"])
    db.session.add(
        WebhookDelivery(
            webhook_id=webhook["id"], event_id=row["event_id"], event_type="ticket.created"
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_fan_out_finding_another_at_work_returns_at_once(app, subscribe, raise_ticket):
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite a fan-out waits for the write lock, as every writer does")
    from app.models.background import FANOUT, OutboxPosition

    webhook = subscribe("http://127.0.0.1:9/hook")
    raise_ticket()
    assert webhook_tasks.fan_out_events.call_local() == 1
    raise_ticket("Printer offline")
    results = []
    with db.engine.connect() as holder:  # another worker's fan-out, in the middle of its pass
        holder.execute(
            select(OutboxPosition.event_id).where(OutboxPosition.name == FANOUT).with_for_update()
        )

        def fan_out():
            with app.app_context():
                results.append(webhook_tasks.fan_out_events.call_local())

        thread = threading.Thread(target=fan_out)
        thread.start()
        thread.join(timeout=5)
        returned_while_held = not thread.is_alive()
        holder.rollback()
    thread.join(timeout=10)
    assert returned_while_held
    assert results == [0]
    assert len(deliveries_of(webhook["id"])) == 1
    assert webhook_tasks.fan_out_events.call_local() == 1  # the next one makes it


def test_a_fan_out_looks_again_after_its_commit_for_events_committed_meanwhile(
    app, subscribe, raise_ticket
):
    # A fan-out skipped while this one held the position counts on this one to look again.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite no other writer commits while a fan-out holds the write lock")
    from sqlalchemy import event as sa_event
    from sqlalchemy import text

    webhook = subscribe("http://127.0.0.1:9/hook")
    raise_ticket()
    added = []

    def commit_an_event_meanwhile(conn, cursor, statement, *args):
        if added or not statement.startswith("INSERT INTO webhook_deliveries"):
            return
        with db.engine.connect() as other:
            other.execute(
                text("INSERT INTO events (type, payload) VALUES ('ticket.created', '{}')")
            )
            other.commit()
        added.append(True)

    sa_event.listen(db.engine, "before_cursor_execute", commit_an_event_meanwhile)
    try:
        made = webhook_tasks.fan_out_events.call_local()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", commit_an_event_meanwhile)
    assert added
    assert made == 2
    events = db.session.scalars(
        select(Event.id).where(Event.type == "ticket.created").order_by(Event.id)
    ).all()
    assert len(events) == 2
    assert [row["event_id"] for row in deliveries_of(webhook["id"])] == events


def test_a_fan_out_under_a_steady_stream_hands_on_to_a_new_task(
    app, subscribe, raise_ticket, monkeypatch
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite no other writer commits while a fan-out holds the write lock")
    from sqlalchemy import event as sa_event
    from sqlalchemy import text

    from app.tasks import huey

    webhook = subscribe("http://127.0.0.1:9/hook")
    raise_ticket()
    huey.flush()
    monkeypatch.setattr(webhook_tasks, "FANOUT_TASK_SECONDS", 0)
    added = []

    def another_event_at_each_pass(conn, cursor, statement, *args):
        if len(added) < 20 and statement.startswith("INSERT INTO webhook_deliveries"):
            with db.engine.connect() as other:
                other.execute(
                    text("INSERT INTO events (type, payload) VALUES ('ticket.created', '{}')")
                )
                other.commit()
            added.append(True)

    sa_event.listen(db.engine, "before_cursor_execute", another_event_at_each_pass)
    try:
        made = webhook_tasks.fan_out_events.call_local()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", another_event_at_each_pass)
    queued = [queued_task.name for queued_task in huey.pending()]
    huey.flush()
    assert made == 1  # one pass, then it handed on
    assert queued.count("fan_out_events") == 1
    assert len(deliveries_of(webhook["id"])) == 1
    assert webhook_tasks.fan_out_events.call_local() == 1  # the event committed meanwhile
