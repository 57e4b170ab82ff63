"""Event streams on real gunicorn servers: no token in the access log, the per-user cap across
hosts, and a resume from id 0 that costs a worker no more memory than a live stream."""

import http.client
import json
import os
import time

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.models import Event
from bench.support import worker_pids
from tests.conftest import create_user, headers_for
from tests.servers import free_port, gunicorn, request, start_gunicorn, stop


def _stream_token(port: int, headers: dict) -> str:
    status, _, body = request(port, "POST", "/api/events/token", None, headers)
    assert status == 201
    return json.loads(body)["token"]


def test_stream_tokens_never_reach_the_access_log(tmp_path):
    user = create_user("requester")
    log_path = tmp_path / "access.log"
    with gunicorn(workers=1, access_log=str(log_path), EVENTS_MAX_STREAM_SECONDS="0.5") as port:
        token = _stream_token(port, headers_for(user))
        status, _, body = request(port, "GET", f"/api/events?token={token}")
        assert status == 200 and body.startswith(b"retry:")
        request(port, "GET", f"/api/tickets?q=printer&token={token}", None, headers_for(user))
    log = log_path.read_text()
    assert "GET /api/events HTTP/1.1" in log
    assert "GET /api/tickets HTTP/1.1" in log
    assert token not in log
    assert token.split(".")[2] not in log  # not even the signature
    assert "token=" not in log


def _open_stream(port: int, headers: dict) -> tuple[http.client.HTTPConnection, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/events", headers=headers)
    response = connection.getresponse()
    if response.status == 200:
        response.fp.readline()  # the first line: the stream is open
    return connection, response.status


def test_the_stream_cap_counts_streams_on_every_host():
    user = create_user("agent")
    headers = headers_for(user)
    env = {"EVENTS_MAX_STREAMS_PER_USER": "2"}
    with gunicorn(workers=1, **env) as first, gunicorn(workers=1, **env) as second:
        one, status_one = _open_stream(first, headers)
        two, status_two = _open_stream(second, headers)
        third, status_three = _open_stream(first, headers)
        fourth, status_four = _open_stream(second, headers)
        assert (status_one, status_two, status_three, status_four) == (200, 200, 429, 429)
        one.close()  # a closed stream frees its place (the server notices within a heartbeat)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            again, status = _open_stream(second, headers)
            if status == 200:
                break
            again.close()
            time.sleep(0.2)
        assert status == 200
        for connection in (two, third, fourth, again):
            connection.close()


def _memory_kb(pid: int) -> dict[str, int]:
    """Resident memory now (VmRSS) and at its peak (VmHWM): memory freed and given back to the
    system still counts in the peak, so a replay that loaded everything at once cannot hide."""
    with open(f"/proc/{pid}/status") as status:
        return {
            line.split(":")[0]: int(line.split()[1])
            for line in status
            if line.startswith(("VmRSS:", "VmHWM:"))
        }


def _reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # sets VmHWM to the current VmRSS (Linux 4.0+)


def _read_until(port: int, headers: dict, from_id: int, last_id: int) -> int:
    """Resume after `from_id` and read the stream up to `last_id`; the number of events read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/api/events", headers={**headers, "Last-Event-ID": str(from_id)})
    response = connection.getresponse()
    assert response.status == 200
    count = 0
    for line in response.fp:
        if line.startswith(b"id: "):
            count += 1
            if int(line[4:]) == last_id:
                break
    connection.close()
    return count


@pytest.mark.skipif(
    "postgresql" not in os.environ.get("TEST_DATABASE_URL", ""),
    reason="measured on PostgreSQL, the production database",
)
def test_resuming_from_id_0_over_20000_events_keeps_the_workers_memory_flat():
    staff = create_user("agent")
    payload = {"id": 1, "body": "x" * 2000, "title": "A ticket that happened long ago"}
    rows = [
        {"type": "message.created", "ticket_id": 1, "requester_id": 1, "payload": payload}
        for _ in range(20_000)
    ]
    db.session.execute(insert(Event), rows)
    db.session.commit()
    last_id = db.session.query(db.func.max(Event.id)).scalar()
    headers = headers_for(staff)
    port = free_port()
    process = start_gunicorn(port, workers=1)
    try:
        (worker,) = worker_pids(process.pid)
        # Warm up: the code paths of a stream and of a short replay are loaded and pooled.
        assert request(port, "GET", "/api/auth/me", None, headers)[0] == 200
        assert _read_until(port, headers, last_id - 2, last_id) == 2
        _reset_peak(worker)
        before = _memory_kb(worker)["VmRSS"]
        assert _read_until(port, headers, 0, last_id) == 20_000
        growth_mb = (_memory_kb(worker)["VmHWM"] - before) / 1024
    finally:
        stop(process)
    # Loading all 20,000 rows at once (before the replay was paged) raised the peak by 55 MB.
    assert growth_mb < 20, growth_mb
