"""Fault tests: nothing acknowledged is lost or duplicated when PostgreSQL restarts or a worker
dies, and SIGTERM lets in-flight requests finish.

Usage: .venv/bin/python bench/faults.py [--seconds 20] [--clients 8]
Needs root (it restarts the local PostgreSQL cluster) and PostgreSQL on 127.0.0.1:5432.
Creates and drops its own database; every request goes to 127.0.0.1.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds http.py, which would shadow the standard library's http package.
sys.path[0] = ROOT

from bench.support import worker_pids  # noqa: E402
from tests.servers import free_port, request, start_server_process, stop  # noqa: E402

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "servicedesk_faults"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
BIN = os.path.dirname(sys.executable)


def admin_sql(statement: str) -> None:
    connection = psycopg2.connect(ADMIN_DSN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action], check=True
    )


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


def prepare_database() -> None:
    admin_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {DATABASE}")
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "FLASK_APP": "app"}
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run(
            [os.path.join(BIN, "flask"), *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def start_server(port: int) -> subprocess.Popen:
    return start_server_process(
        port,
        workers=2,
        config="development",
        DATABASE_URL=DATABASE_URL,
        RATELIMIT_DEFAULT="1000000 per minute",
        RATELIMIT_LOGIN="1000000 per minute",
        GUNICORN_GRACEFUL_TIMEOUT="30",
    )


def login(port: int, email: str, password: str) -> dict:
    body = json.dumps({"email": email, "password": password}).encode()
    status, _, data = request(
        port, "POST", "/api/auth/login", body, {"Content-Type": "application/json"}
    )
    assert status == 200, data
    token = json.loads(data)["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


class Load:
    """Clients writing with Idempotency-Keys, retrying each write until acknowledged."""

    def __init__(self, port: int, headers: dict, ticket_id: int, clients: int, seconds: float):
        self.port, self.headers, self.ticket_id = port, headers, ticket_id
        self.clients, self.seconds = clients, seconds
        self.attempted = 0
        self.acknowledged: dict[str, tuple[str, int]] = {}  # marker -> (kind, id)
        self.first_error: float | None = None
        self.last_error: float | None = None
        self.lock = threading.Lock()

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        threads = [
            threading.Thread(target=self._client, args=(number, deadline))
            for number in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _client(self, number: int, deadline: float) -> None:
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            marker = f"fault-{number}-{sequence}-{uuid.uuid4().hex[:8]}"
            if sequence % 2:
                kind, path = "ticket", "/api/tickets"
                body = {"title": marker, "description": "Written under faults."}
            else:
                kind, path = "message", "/api/messages"
                body = {"ticket_id": self.ticket_id, "body": marker}
            with self.lock:
                self.attempted += 1
            created_id = self._write_until_acknowledged(path, body, marker, deadline + 30)
            if created_id is not None:
                with self.lock:
                    self.acknowledged[marker] = (kind, created_id)

    def _write_until_acknowledged(self, path, body, key, give_up_at) -> int | None:
        headers = {**self.headers, "Idempotency-Key": key}
        payload = json.dumps(body).encode()
        while time.monotonic() < give_up_at:
            try:
                status, _, data = request(self.port, "POST", path, payload, headers)
            except OSError:
                status, data = None, b""
            if status is not None and 200 <= status < 300:
                return json.loads(data)["id"]
            self._note_error()
            time.sleep(0.2)
        return None

    def _note_error(self) -> None:
        now = time.monotonic()
        with self.lock:
            self.first_error = self.first_error or now
            self.last_error = now


def check_writes(load: Load) -> dict:
    """Every acknowledged write exists exactly once; no marker was written twice."""
    connection = psycopg2.connect(DATABASE_URL)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT title, count(*) FROM tickets WHERE title LIKE 'fault-%' GROUP BY title"
        )
        tickets = dict(cursor.fetchall())
        cursor.execute(
            "SELECT body, count(*) FROM ticket_messages WHERE body LIKE 'fault-%' GROUP BY body"
        )
        messages = dict(cursor.fetchall())
    connection.close()
    found = {**tickets, **messages}
    lost = [marker for marker in load.acknowledged if found.get(marker, 0) == 0]
    return {
        "attempted": load.attempted,
        "acknowledged": len(load.acknowledged),
        "found": sum(1 for marker in load.acknowledged if found.get(marker, 0) >= 1),
        "lost": len(lost),
        "duplicates": sum(count - 1 for count in found.values() if count > 1),
        "error_window_s": round((load.last_error - load.first_error), 2)
        if load.first_error
        else 0.0,
    }


def health_monitor(port: int, stop_event: threading.Event, seen: list) -> None:
    while not stop_event.is_set():
        # PostgreSQL counts as up for a check that began or ended while it was ready: a check
        # answered 200 just before the server stopped is not a check made while it was down.
        ready_before = pg_ready()
        try:
            status, _, _ = request(port, "GET", "/health")
        except OSError:
            status = None
        seen.append((time.monotonic(), status, ready_before or pg_ready()))
        time.sleep(0.2)


def scenario_postgres_restart(port, headers, ticket_id, args) -> dict:
    load = Load(port, headers, ticket_id, args.clients, args.seconds)
    seen: list = []
    stop_event = threading.Event()
    monitor = threading.Thread(target=health_monitor, args=(port, stop_event, seen))
    runner = threading.Thread(target=load.run)
    monitor.start()
    runner.start()
    time.sleep(args.seconds / 4)
    cluster("stop")
    time.sleep(3)
    cluster("start")
    while not pg_ready():
        time.sleep(0.1)
    back_at = time.monotonic()
    runner.join()
    stop_event.set()
    monitor.join()
    result = check_writes(load)
    down = [status for _, status, ready in seen if not ready]
    recovered = [at for at, status, _ in seen if at >= back_at and status == 200]
    result["health_503_while_down"] = bool(down) and all(s == 503 for s in down if s)
    result["recovered_within_s"] = round(recovered[0] - back_at, 2) if recovered else None
    return result


def scenario_worker_killed(port, server, headers, ticket_id, args) -> dict:
    load = Load(port, headers, ticket_id, args.clients, args.seconds)
    runner = threading.Thread(target=load.run)
    runner.start()
    time.sleep(args.seconds / 4)
    victims = worker_pids(server.pid)
    os.kill(victims[0], signal.SIGKILL)
    runner.join()
    result = check_writes(load)
    time.sleep(1)
    replaced = worker_pids(server.pid)
    result["worker_replaced"] = victims[0] not in replaced and len(replaced) == len(victims)
    return result


def scenario_graceful_sigterm(port, server, headers, ticket_id) -> dict:
    """Requests blocked on a row lock are in flight when SIGTERM arrives; they must finish."""
    blocker = psycopg2.connect(DATABASE_URL)
    cursor = blocker.cursor()
    cursor.execute("SELECT id FROM tickets WHERE id = %s FOR UPDATE", (ticket_id,))
    results: list = []

    def patch(number: int) -> None:
        body = json.dumps({"title": f"graceful {number}"}).encode()
        try:
            results.append(request(port, "PATCH", f"/api/tickets/{ticket_id}", body, headers)[0])
        except OSError as error:
            results.append(repr(error))

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # the PATCHes now wait on the lock inside the workers
    server.send_signal(signal.SIGTERM)
    time.sleep(2)
    blocker.rollback()  # release the lock: the in-flight requests can finish
    blocker.close()
    for thread in threads:
        thread.join(timeout=30)
    exited = server.wait(timeout=30)
    return {"in_flight": len(threads), "completed_200": results.count(200), "master_exit": exited}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    prepare_database()
    port = free_port()
    server = start_server(port)
    failures = []
    try:
        headers = login(port, "agent@example.com", "agent123!")
        status, _, data = request(
            port,
            "POST",
            "/api/tickets",
            json.dumps({"title": "Fault target", "description": "Messages land here."}).encode(),
            headers,
        )
        ticket_id = json.loads(data)["id"]

        restart = scenario_postgres_restart(port, headers, ticket_id, args)
        print("postgres restart:", json.dumps(restart))
        if restart["lost"] or restart["duplicates"] or not restart["health_503_while_down"]:
            failures.append("postgres restart")
        if restart["recovered_within_s"] is None or restart["recovered_within_s"] > 5:
            failures.append("postgres restart recovery")

        killed = scenario_worker_killed(port, server, headers, ticket_id, args)
        print("worker SIGKILL:  ", json.dumps(killed))
        if killed["lost"] or killed["duplicates"] or not killed["worker_replaced"]:
            failures.append("worker SIGKILL")

        graceful = scenario_graceful_sigterm(port, server, headers, ticket_id)
        print("master SIGTERM:  ", json.dumps(graceful))
        if graceful["completed_200"] != graceful["in_flight"] or graceful["master_exit"] != 0:
            failures.append("graceful SIGTERM")
    finally:
        if server.poll() is None:
            stop(server)
        if not pg_ready():
            cluster("start")
        admin_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    print("FAILED: " + ", ".join(failures) if failures else "all fault scenarios passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
