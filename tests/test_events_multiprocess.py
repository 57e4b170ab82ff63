"""Events cross processes: two gunicorn servers (as two hosts), each with two workers.

Streams are opened on both servers and messages are posted alternately through both; every
stream must receive every message, in order, exactly once.
"""

import http.client
import json
import threading

import pytest

from tests.conftest import create_user, headers_for
from tests.servers import free_port, request, start_gunicorn, stop

MESSAGES = 20


@pytest.fixture
def servers():
    ports = [free_port(), free_port()]
    processes = [start_gunicorn(port) for port in ports]
    yield ports
    for process in processes:
        stop(process)


def _read_stream(port, headers, ticket_id, received: list, ready: threading.Event):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"/api/tickets/{ticket_id}/events", headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    ready.set()
    fields = {}
    while len(received) < MESSAGES:
        line = response.readline().decode().rstrip("\n")
        if line == "":
            if fields.get("event") == "message.created":
                received.append((int(fields["id"]), json.loads(fields["data"])["body"]))
            fields = {}
        elif ": " in line and not line.startswith(":"):
            key, value = line.split(": ", 1)
            fields[key] = value
    connection.close()


def _post(port, headers, body):
    status, _, data = request(port, "POST", "/api/messages", json.dumps(body).encode(), headers)
    assert status == 201, data


def test_every_stream_on_every_server_gets_every_message_once_in_order(servers, client):
    agent = create_user("agent")
    requester = create_user("requester")
    headers = {**headers_for(agent), "Content-Type": "application/json"}
    ticket = client.post(
        "/api/tickets",
        json={"title": "Shared printer", "description": "Offline."},
        headers=headers_for(requester),
    ).get_json()

    streams = []
    for index in range(4):
        received, ready = [], threading.Event()
        watcher = headers_for(requester if index % 2 else agent)
        thread = threading.Thread(
            target=_read_stream,
            args=(servers[index % 2], watcher, ticket["id"], received, ready),
            daemon=True,
        )
        thread.start()
        assert ready.wait(10)
        streams.append((thread, received))

    for number in range(MESSAGES):
        body = {"ticket_id": ticket["id"], "body": f"message {number}"}
        _post(servers[number % 2], headers, body)

    expected = [f"message {number}" for number in range(MESSAGES)]
    for thread, received in streams:
        thread.join(timeout=15)
        assert [body for _, body in received] == expected
        ids = [event_id for event_id, _ in received]
        assert ids == sorted(set(ids))


def test_sigterm_ends_open_streams_at_once_instead_of_waiting_out_graceful_timeout():
    import signal
    import time

    user = create_user("agent")
    port = free_port()
    server = start_gunicorn(port, workers=1, GUNICORN_GRACEFUL_TIMEOUT="30")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", "/api/events", headers=headers_for(user))
    response = connection.getresponse()
    assert response.status == 200
    assert response.readline().startswith(b"retry:")
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    rest = response.read().decode()  # returns when the server ends the stream
    assert "the server is restarting" in rest
    assert server.wait(timeout=20) == 0
    assert time.monotonic() - started < 10
