"""What the webhook bench and the webhook fault test share: a Redis server of their own,
`flask worker` processes, a webhook row, and events written to the outbox as the service
writes them.

Every process listens on or talks to 127.0.0.1 only; every wait is bounded.
"""

import json
import os
import signal
import subprocess
import time

import psycopg2
import redis

from bench.support import HOST, ROOT, VENV_BIN, SetupError, free_port

# The outbox's advisory lock and NOTIFY channel (app/services/events.py): event ids must
# increase in commit order, or the fan-out's high-water mark would skip events.
OUTBOX_LOCK = 7_310_001
NOTIFY_CHANNEL = "servicedesk_events"


class RedisServer:
    """A redis-server of our own on a free port, with nothing persisted: restarting it loses
    every queued task, as a crashed production Redis would."""

    def __init__(self, log_path: str, host: str = HOST) -> None:
        self.host = host
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        self.process = subprocess.Popen(
            ["redis-server", "--bind", self.host, "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no"]
            # Protected mode refuses every address but loopback without a password; a host
            # other than loopback is a private bridge of bench/two_hosts.py.
            + ([] if self.host == HOST else ["--protected-mode", "no"]),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SetupError(f"redis-server did not start on {self.port}") from error
                time.sleep(0.05)
            finally:
                client.close()

    def queued_tasks(self, queue_name: str = "servicedesk") -> int:
        """Tasks waiting in Huey's queue and schedule (the keys of huey.storage.RedisStorage)."""
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=2)
        try:
            return client.llen(f"huey.redis.{queue_name}") + client.zcard(
                f"huey.schedule.{queue_name}"
            )
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()


def worker_env(database_url: str, queue_url: str, **extra: str) -> dict:
    env = dict(os.environ)
    env.pop("FLASK_ENV", None)  # development configuration
    env.update(
        {
            "DATABASE_URL": database_url,
            "QUEUE_URL": queue_url,
            "WEBHOOK_ALLOWED_HOSTS": HOST,  # the receiver listens on loopback
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def start_worker(env: dict, log_path: str, threads: int | None = None) -> subprocess.Popen:
    """`flask worker`, returned once its first heartbeat is in the database."""
    command = [os.path.join(VENV_BIN, "flask"), "--app", "app", "worker"]
    if threads:
        command += ["--threads", str(threads)]
    before = heartbeat_count(env["DATABASE_URL"])
    log = open(log_path, "ab")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    deadline = time.monotonic() + 30
    while heartbeat_count(env["DATABASE_URL"]) <= before:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SetupError(f"flask worker did not start (see {log_path})")
        time.sleep(0.1)
    return process


def stop_worker(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def heartbeat_count(database_url: str) -> int:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM worker_heartbeats")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def add_webhook(connection, url: str, secret: str) -> int:
    """A webhook on every event type (as POST /api/webhooks stores one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO webhooks (url, events, is_active, secret) "
            "VALUES (%s, %s, true, %s) RETURNING id",
            (url, json.dumps(["*"]), secret),
        )
        webhook_id = cursor.fetchone()[0]
    connection.commit()
    return webhook_id


def sample_payload(connection) -> str:
    """A ticket as JSON, about the size of a `ticket.created` payload."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM tickets t ORDER BY id LIMIT 1")
        row = cursor.fetchone()
    connection.rollback()
    if row is None:
        raise SetupError("no ticket to copy a payload from (did `flask seed` run?)")
    return row[0]


def write_events(connection, count: int, payload: str) -> tuple[list[int], float]:
    """`count` ticket.created events in one transaction, as the outbox writes them (the
    advisory lock, the rows, NOTIFY); their ids and the time just after the commit."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (OUTBOX_LOCK,))
        cursor.execute(
            "INSERT INTO events (type, payload) "
            "SELECT 'ticket.created', %s::json FROM generate_series(1, %s) RETURNING id",
            (payload, count),
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    connection.commit()
    return ids, time.time()


def delivery_states(connection, webhook_id: int) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM webhook_deliveries WHERE webhook_id = %s GROUP BY status",
            (webhook_id,),
        )
        states = dict(cursor.fetchall())
    connection.rollback()
    return states


def tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, errors="replace") as log:
            return "".join(log.readlines()[-lines:])
    except OSError:
        return ""
