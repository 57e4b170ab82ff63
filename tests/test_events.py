"""Server-Sent Events through HTTP: shapes, replay, ordering, visibility, heartbeat, expiry."""

import json
import queue
import threading
import time

import jsonschema_rs
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event
from app.services.dispatcher import reset_dispatchers


class StreamReader:
    """Reads an SSE response in a thread so that tests can wait with a timeout."""

    def __init__(self, response):
        self.response = response
        self.lines: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        buffer = ""
        try:
            for chunk in self.response.response:
                buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self.lines.put(block)
        except Exception as error:  # the stream was closed under us
            self.lines.put(f"!error {error}")
        self.lines.put(None)

    def blocks(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                block = self.lines.get(timeout=remaining)
            except queue.Empty:
                return
            if block is None:
                return
            yield block

    def events(self, count, timeout=5.0):
        found = []
        for block in self.blocks(timeout):
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            if "event" in fields and "id" in fields:
                found.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
                if len(found) == count:
                    break
        return found

    def close(self):
        self.thread.join(timeout=5)
        self.response.close()


@pytest.fixture
def open_stream(client):
    readers = []

    def opener(path, headers, **kwargs):
        response = client.get(path, headers=headers, buffered=False, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/event-stream"
        reader = StreamReader(response)
        readers.append(reader)
        return reader

    yield opener
    reset_dispatchers()  # ends every open stream, so the reader threads finish
    for reader in readers:
        reader.close()


def _ticket(client, headers, title="Printer jam"):
    response = client.post(
        "/api/tickets", json={"title": title, "description": "Paper stuck."}, headers=headers
    )
    assert response.status_code == 201
    return response.get_json()


def _message(client, headers, ticket_id, body="Hello", internal=False):
    response = client.post(
        "/api/messages",
        json={"ticket_id": ticket_id, "body": body, "is_internal": internal},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_ticket_stream_delivers_a_posted_message_with_the_rest_object(
    client, open_stream, agent, requester, auth
):
    ticket = _ticket(client, auth(requester))
    stream = open_stream(f"/api/tickets/{ticket['id']}/events", auth(requester))
    message = _message(client, auth(agent.user), ticket["id"], "We are on it")
    events = stream.events(2)
    types = [event_type for _, event_type, _ in events]
    assert types == ["message.created", "ticket.updated"]
    assert events[0][2] == message
    assert events[1][2]["first_response_at"] is not None


def test_event_ids_increase_and_match_the_outbox(client, open_stream, admin, requester, auth):
    stream = open_stream("/api/events", auth(admin))
    ticket = _ticket(client, auth(requester))
    _message(client, auth(requester), ticket["id"])
    events = stream.events(3)
    ids = [event_id for event_id, _, _ in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    stored = db.session.scalars(db.select(Event.type).order_by(Event.id)).all()
    assert [event_type for _, event_type, _ in events] == stored[:3]
    assert stored[:3] == ["ticket.created", "activity.created", "message.created"]


def test_every_streamed_event_matches_the_documented_event_schema(
    client, open_stream, admin, requester, auth
):
    spec = client.get("/api/openapi.json").get_json()
    documented = spec["paths"]["/api/events"]["get"]["responses"]["200"]["content"]
    validator = jsonschema_rs.validator_for(documented["text/event-stream"]["schema"])
    stream = open_stream("/api/events", auth(admin))
    ticket = _ticket(client, auth(requester))
    message = _message(client, auth(requester), ticket["id"])
    edited = client.patch(
        f"/api/messages/{message['id']}", json={"body": "Edited"}, headers=auth(requester)
    )
    assert edited.status_code == 200, edited.get_json()
    blocks = []
    for block in stream.blocks(timeout=1.5):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "data" in fields:
            blocks.append(fields)
    assert [fields["event"] for fields in blocks][:3] == [
        "ticket.created",
        "activity.created",
        "message.created",
    ]
    assert "message.updated" in [fields["event"] for fields in blocks]
    for fields in blocks:
        validator.validate(fields)


def test_requester_never_receives_internal_notes_or_other_tickets(
    client, open_stream, agent, requester, make_user, auth
):
    other = make_user("requester")
    mine = _ticket(client, auth(requester), "Mine")
    theirs = _ticket(client, auth(other), "Theirs")
    stream = open_stream("/api/events", auth(requester))
    _message(client, auth(agent.user), mine["id"], "internal", internal=True)
    _message(client, auth(agent.user), theirs["id"], "for the other requester")
    _message(client, auth(agent.user), mine["id"], "public")
    events = stream.events(10, timeout=1.5)
    bodies = [data.get("body") for _, kind, data in events if kind == "message.created"]
    assert bodies == ["public"]
    assert all(data.get("ticket_id", data.get("id")) == mine["id"] for _, _, data in events)


def test_resume_with_last_event_id_replays_what_was_missed_in_order(
    client, open_stream, admin, requester, auth
):
    ticket = _ticket(client, auth(requester))
    first = _message(client, auth(requester), ticket["id"], "one")
    seen = db.session.scalar(
        db.select(Event.id).where(Event.type == "message.created").order_by(Event.id)
    )
    _message(client, auth(requester), ticket["id"], "two")
    _message(client, auth(requester), ticket["id"], "three")
    headers = {**auth(admin), "Last-Event-ID": str(seen)}
    stream = open_stream(f"/api/tickets/{ticket['id']}/events", headers)
    _message(client, auth(requester), ticket["id"], "four")
    bodies = [d["body"] for _, kind, d in stream.events(3) if kind == "message.created"]
    assert bodies == ["two", "three", "four"]
    assert first["body"] == "one"


def test_last_event_id_as_query_parameter(client, open_stream, admin, requester, auth):
    ticket = _ticket(client, auth(requester))
    _message(client, auth(requester), ticket["id"], "replayed")
    stream = open_stream(f"/api/tickets/{ticket['id']}/events?last_event_id=0", auth(admin))
    events = stream.events(1)
    assert events[0][1] == "activity.created"


@pytest.mark.parametrize("value", ["abc", "-1", "999999"])
def test_malformed_or_future_last_event_id_is_422(client, admin, auth, value):
    response = client.get("/api/events", headers={**auth(admin), "Last-Event-ID": value})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "Last-Event-ID" in response.get_json()["errors"]


def test_stream_of_a_ticket_the_caller_cannot_see_is_404(client, requester, make_user, auth):
    other = make_user("requester")
    ticket = _ticket(client, auth(other))
    response = client.get(f"/api/tickets/{ticket['id']}/events", headers=auth(requester))
    assert response.status_code == 404


def test_stream_requires_authentication(client):
    response = client.get("/api/events")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_heartbeat_comment_is_sent_while_idle(client, open_stream, admin, auth):
    stream = open_stream("/api/events", auth(admin))
    blocks = list(stream.blocks(timeout=1.0))
    assert ": heartbeat" in blocks


def test_stream_token_opens_a_stream_for_eventsource(client, open_stream, requester, auth):
    response = client.post("/api/events/token", headers=auth(requester))
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert response.get_json()["expires_in"] > 0
    stream = open_stream(f"/api/events?token={token}", {})
    ticket = _ticket(client, auth(requester))
    assert stream.events(1)[0][2]["id"] == ticket["id"]


def test_stream_token_is_refused_as_a_bearer_token_elsewhere(client, requester, auth):
    token = client.post("/api/events/token", headers=auth(requester)).get_json()["token"]
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_refresh_token_is_refused_in_the_url(client, requester):
    from app.auth import tokens

    refresh = tokens.issue_tokens(requester)["refresh_token"]
    response = client.get(f"/api/events?token={refresh}")
    assert response.status_code == 401


def test_logout_ends_the_stream(client, open_stream, requester, auth):
    headers = auth(requester)
    stream = open_stream("/api/events", headers)
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    blocks = list(stream.blocks(timeout=3.0))
    assert any("session ended" in block for block in blocks)


def test_expired_token_ends_the_stream(client, open_stream, requester, auth, freeze_time):
    from datetime import timedelta

    from app import clock

    stream = open_stream("/api/events", auth(requester))
    freeze_time(clock.now() + timedelta(hours=1))
    blocks = list(stream.blocks(timeout=3.0))
    assert any("expired" in block for block in blocks)


def test_stream_ends_after_its_maximum_lifetime(app, client, admin, auth, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_MAX_STREAM_SECONDS", 0.3)
    response = client.get("/api/events", headers=auth(admin), buffered=False)
    started = time.monotonic()
    body = b"".join(response.response)
    assert time.monotonic() - started < 3
    assert body.startswith(b"retry: 2000\n: connected\n\n")


def test_a_stream_that_stops_reading_is_closed_without_holding_up_the_others(app):
    from types import SimpleNamespace

    from app.services.dispatcher import CLOSED, Dispatcher, Subscriber

    dispatcher = Dispatcher(db.engine, poll_seconds=1)
    stalled = Subscriber(user_id=1, is_staff=True, session_id="a", buffer=queue.Queue(maxsize=5))
    reading = Subscriber(user_id=2, is_staff=True, session_id="b")
    dispatcher.subscribers.update({stalled, reading})
    for event_id in range(1, 21):
        event = SimpleNamespace(
            id=event_id, type="ticket.updated", ticket_id=1, requester_id=3,
            payload={"id": 1}, public_payload={"id": 1},
        )  # fmt: skip
        dispatcher.deliver(event)
    assert stalled.closed_reason == "too far behind"
    delivered = [reading.buffer.get_nowait().id for _ in range(20)]
    assert delivered == list(range(1, 21))
    drained = [stalled.buffer.get_nowait() for _ in range(stalled.buffer.qsize())]
    assert CLOSED not in drained[:5] and len(drained) <= 5


def test_ticket_events_carry_each_viewers_ticket_exactly_as_the_api_shows_it(
    client, admin, requester, auth
):
    staff, own = auth(admin), auth(requester)
    body = {"title": "Dock flickers", "description": "Every few seconds."}
    ticket = client.post("/api/tickets", json=body, headers=own).get_json()
    for internal in (False, True):
        message = {"ticket_id": ticket["id"], "body": "Checking.", "is_internal": internal}
        client.post("/api/messages", json=message, headers=staff)
    client.patch(f"/api/tickets/{ticket['id']}", json={"priority": "high"}, headers=staff)
    event = db.session.scalars(
        select(Event).where(Event.type == "ticket.updated").order_by(Event.id.desc())
    ).first()
    as_staff = client.get(f"/api/tickets/{ticket['id']}", headers=staff).get_json()
    as_requester = client.get(f"/api/tickets/{ticket['id']}", headers=own).get_json()
    assert (as_staff["message_count"], as_requester["message_count"]) == (2, 1)
    assert event.payload == as_staff
    assert event.public_payload == as_requester
