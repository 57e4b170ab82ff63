"""Fault test of webhook deliveries: a worker killed with SIGKILL and Redis restarted in the
middle of 500 deliveries; afterwards every event was delivered, none as two deliveries.

Usage: .venv/bin/python bench/webhook_faults.py [--events 500]
Needs PostgreSQL on 127.0.0.1:5432 (trust auth for `postgres`) and `redis-server` on the PATH.
Creates and drops its own database; starts a redis-server of its own on a free port (nothing
persisted), so restarting it harms no other user of Redis. Run by .ci/run.

1. `flask db upgrade` and `flask seed` on `servicedesk_webhook_faults`; a receiver on
   127.0.0.1 (tests/receiver.py) and a webhook on every event type pointing at it.
2. Two `flask worker` processes with QUEUE_URL on our Redis and WEBHOOK_LEASE_SECONDS short,
   so that the sweep (once a minute) hands a killed worker's attempts on soon after.
3. `--events` ticket.created events are written to the outbox as the service writes them, in
   commits of `--batch` every `--every` seconds. When the receiver has `--kill-at` of them, one
   worker is killed with SIGKILL (its dequeued tasks and its claimed attempts die with it); at
   `--restart-at`, Redis is killed and started again empty (every queued and scheduled task is
   gone: only the database knows what is owed). The other worker carries on alone: its sweep
   (once a minute) queues again what the queue lost, and the killed worker's attempts once
   their lease ran out. (`--replace` starts a replacement worker after the restart, as a
   supervisor would: a starting worker sweeps at once.) The receiver takes
   `--receiver-delay` s to answer, so that the killed worker dies with attempts out.
4. Waits (at most `--timeout` s) until every event was received and every delivery succeeded,
   then checks: each event received, under one delivery id only; the database holds one
   delivery per event, all `succeeded`. A delivery sent again under its own id (the killed
   worker's attempt that reached the receiver) is allowed and reported.

Exit status 0 when the checks pass, 1 otherwise, 2 when the setup failed.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds http.py, which would shadow the standard library's http package.
sys.path[0] = ROOT

import argparse  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import psycopg2  # noqa: E402

from bench.pgdb import create_database, database_url, drop_database  # noqa: E402
from bench.queue_support import (  # noqa: E402
    RedisServer,
    add_webhook,
    delivery_states,
    sample_payload,
    start_worker,
    stop_worker,
    tail,
    worker_env,
    write_events,
)
from bench.support import SetupError, flask_cli, say  # noqa: E402
from tests.receiver import Receiver  # noqa: E402


def received_count(receiver: Receiver) -> int:
    with receiver.condition:
        return len({request.headers["X-ServiceDesk-Delivery"] for request in receiver.requests})


def wait_received(receiver: Receiver, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (got := received_count(receiver)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return got


def produce(url: str, args, payload: str, committed: list[int]) -> None:
    connection = psycopg2.connect(url)
    try:
        left = args.events
        while left > 0:
            ids, _ = write_events(connection, min(args.batch, left), payload)
            committed.extend(ids)
            left -= len(ids)
            time.sleep(args.every)
    finally:
        connection.close()


def check(connection, receiver: Receiver, webhook_id: int, committed: list[int]) -> dict:
    with receiver.condition:
        requests = list(receiver.requests)
    deliveries_of: dict[int, set[str]] = {}
    for request in requests:
        event_id = json.loads(request.body)["id"]
        deliveries_of.setdefault(event_id, set()).add(request.headers["X-ServiceDesk-Delivery"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE attempts > 1)"
            " FROM webhook_deliveries WHERE webhook_id = %s",
            (webhook_id,),
        )
        rows, distinct_events, retried = cursor.fetchone()
    connection.rollback()
    sends = len(requests)
    delivery_ids = {id_ for ids in deliveries_of.values() for id_ in ids}
    return {
        "events": len(committed),
        "received_events": len(set(committed) & set(deliveries_of)),
        "missing": len(set(committed) - set(deliveries_of)),
        "as_two_deliveries": sum(1 for ids in deliveries_of.values() if len(ids) > 1),
        "sent_again_same_id": sends - len(delivery_ids),
        "delivery_rows": rows,
        "rows_per_event_unique": rows == distinct_events,
        "rows_attempted_more_than_once": retried,
        "states": delivery_states(connection, webhook_id),
    }


def run(args, workdir: str) -> int:
    url = database_url(args)
    say(f"creating {args.db_name}, migrating, seeding")
    create_database(args)
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("FLASK_ENV", None)
    flask_cli(env, 300, "db", "upgrade")
    flask_cli(env, 300, "seed")
    redis_server = RedisServer(os.path.join(workdir, "redis.log"))
    redis_server.start()
    # A receiver that takes a moment: the killed worker dies with attempts out.
    receiver = Receiver(default=("hang", args.receiver_delay))
    connection = psycopg2.connect(url)
    environment = worker_env(url, redis_server.url, WEBHOOK_LEASE_SECONDS=str(args.lease))
    logs = [os.path.join(workdir, f"worker-{number}.log") for number in range(3)]
    workers = []
    try:
        webhook_id = add_webhook(connection, receiver.url, secrets.token_hex(32))
        payload = sample_payload(connection)
        say(f"starting 2 workers on {redis_server.url}")
        workers = [start_worker(environment, logs[number]) for number in range(2)]
        committed: list[int] = []
        producer = threading.Thread(target=produce, args=(url, args, payload, committed))
        producer.start()

        at_kill = wait_received(receiver, args.kill_at, 60)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        say(f"worker {workers[0].pid} killed with SIGKILL at {at_kill} deliveries received")

        at_restart = wait_received(receiver, args.restart_at, 60)
        lost_tasks = redis_server.queued_tasks()
        redis_server.restart()
        restarted = time.monotonic()
        say(f"Redis restarted at {at_restart} deliveries received; {lost_tasks} tasks lost")
        if args.replace:
            workers.append(start_worker(environment, logs[2]))  # as a supervisor would
        producer.join(timeout=120)

        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            all_sent = len(committed) == args.events <= received_count(receiver)
            if all_sent and set(delivery_states(connection, webhook_id)) == {"succeeded"}:
                break
            time.sleep(0.5)
        recovered_in = time.monotonic() - restarted
        time.sleep(1)  # a late second send still counts
        result = check(connection, receiver, webhook_id, committed)
    finally:
        for process in workers:
            stop_worker(process)
        connection.close()
        receiver.close()
        redis_server.kill()
        drop_database(args)
    result.update(
        received_at_kill=at_kill,
        received_at_redis_restart=at_restart,
        tasks_lost_with_redis=lost_tasks,
        all_done_after_restart_s=round(recovered_in, 1),
    )
    print("webhooks, worker SIGKILL + Redis restart:", json.dumps(result))
    ok = (
        result["events"] == args.events
        and result["missing"] == 0
        and result["as_two_deliveries"] == 0
        and result["delivery_rows"] == args.events
        and result["rows_per_event_unique"]
        and result["states"] == {"succeeded": args.events}
        and at_kill < args.events
        and at_restart < args.events
    )
    if not ok:
        for log in logs:
            print(f"--- {log}\n{tail(log)}", file=sys.stderr)
    print("webhook fault scenario passed" if ok else "FAILED: webhook fault scenario")
    return 0 if ok else 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--batch", type=int, default=25, help="events a commit (25)")
    parser.add_argument("--every", type=float, default=0.15, help="seconds between commits")
    parser.add_argument("--kill-at", type=int, default=120, help="received, then SIGKILL")
    parser.add_argument("--restart-at", type=int, default=260, help="received, then Redis")
    parser.add_argument("--lease", type=float, default=5, help="WEBHOOK_LEASE_SECONDS (5)")
    parser.add_argument("--receiver-delay", type=float, default=0.02, help="s to answer")
    parser.add_argument("--replace", action="store_true", help="start a replacement worker")
    parser.add_argument("--timeout", type=float, default=180, help="wait for the rest (180 s)")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="servicedesk_webhook_faults")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="webhook-faults-") as workdir:
        try:
            return run(args, workdir)
        except SetupError as error:
            print(f"setup failed: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
