"""Events cross processes: two gunicorn servers (as two hosts), each with two workers.

Streams are opened on both servers and messages are posted alternately through both; every
stream must receive every message, in order, exactly once.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from app.extensions import db
from tests.conftest import create_user, headers_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESSAGES = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "TEST_DATABASE_URL": str(db.engine.url.render_as_string(hide_password=False)),
        "PORT": str(port),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
            "app:create_app('testing')",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn on port {port} did not start")


@pytest.fixture
def servers():
    ports = [_free_port(), _free_port()]
    processes = [_start_server(port) for port in ports]
    yield ports
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


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
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/messages", body=json.dumps(body), headers=headers)
    response = connection.getresponse()
    assert response.status == 201, response.read()
    response.read()
    connection.close()


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
