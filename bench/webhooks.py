"""Webhook deliveries: events per second to a loopback receiver, and the delay from commit to
delivery, with `flask worker` processes on PostgreSQL and Redis.

    .venv/bin/python bench/webhooks.py [--runs 3] [--burst 2000] [--rate 200] [--seconds 10]

What it does, and undoes at the end:

1. (Re)creates the database `servicedesk_bench_webhooks`, runs `flask db upgrade` and
   `flask seed`; starts a redis-server of its own on a free port (nothing persisted) unless
   `--queue-url` names one; starts a receiver on 127.0.0.1 (tests/receiver.py) and adds a
   webhook on every event type pointing at it.
2. Starts `--workers` (2) `flask worker` processes (`--threads` each, default WORKER_THREADS)
   with QUEUE_URL on that Redis, and waits for their heartbeats.
3. Each run has two phases, each writing `ticket.created` events straight into the outbox as
   the service does (advisory lock, INSERT, NOTIFY, commit) and stamping each commit:
   - burst: `--burst` events committed as fast as one connection can, `--burst-batch` a
     transaction. Events/s = events / (last receipt - first commit): what the workers drain.
   - paced: `--rate` events a second for `--seconds`, one a transaction, as API writes would
     commit them. Delay = receipt at the receiver - the commit of its event (p50, p99, max).
   After each phase it waits (at most `--drain-timeout`) for every event to be received and
   every delivery to be `succeeded`, then checks: every event received, none as two different
   deliveries (delivery ids), each signature valid; a delivery sent twice is reported.
4. Prints each phase of each run and the medians over the runs, against the targets
   (>= 200 events/s, p99 < 2 s); stops the workers (SIGTERM) and Redis, drops the database.

Exit status: 0 when every event was delivered once with a valid signature (the targets are
reported, "met" or "MISSED", not enforced), 1 otherwise, 2 when the setup failed.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds http.py, which would shadow the standard library's http package.
sys.path[0] = ROOT

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import psycopg2  # noqa: E402

from app.services.signatures import HEADER, verify  # noqa: E402
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

RATE_TARGET = 200.0
P99_TARGET_S = 2.0


@dataclass
class Bench:
    args: argparse.Namespace
    connection: object
    receiver: Receiver
    webhook_id: int
    secret: str
    payload: str


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def burst(bench: Bench) -> dict[int, float]:
    committed: dict[int, float] = {}
    left = bench.args.burst
    while left > 0:
        ids, at = write_events(bench.connection, min(left, bench.args.burst_batch), bench.payload)
        committed.update(dict.fromkeys(ids, at))
        left -= len(ids)
    return committed


def paced(bench: Bench) -> dict[int, float]:
    committed: dict[int, float] = {}
    count = int(bench.args.rate * bench.args.seconds)
    began = time.monotonic()
    for number in range(count):
        pause = began + number / bench.args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        ids, at = write_events(bench.connection, 1, bench.payload)
        committed[ids[0]] = at
    return committed


def settle(bench: Bench, first_request: int, expected: set[int]) -> list:
    """The receiver's requests since `first_request`, once every expected event arrived and no
    delivery is pending (or the drain timeout passed)."""
    deadline = time.monotonic() + bench.args.drain_timeout
    while time.monotonic() < deadline:
        with bench.receiver.condition:
            received = bench.receiver.requests[first_request:]
        got = {json.loads(request.body)["id"] for request in received}
        if expected <= got and "pending" not in delivery_states(bench.connection, bench.webhook_id):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # a late second send of some delivery still counts
    with bench.receiver.condition:
        return bench.receiver.requests[first_request:]


def measure(bench: Bench, phase: str, produce) -> dict:
    first_request = len(bench.receiver.requests)
    committed = produce(bench)
    produced_in = max(committed.values()) - min(committed.values())
    received = settle(bench, first_request, set(committed))
    deliveries_of: dict[int, set[str]] = {}
    first_receipt: dict[int, float] = {}
    sends: dict[str, int] = {}
    bad_signatures = 0
    for request in received:
        event_id = json.loads(request.body)["id"]
        delivery_id = request.headers["X-ServiceDesk-Delivery"]
        deliveries_of.setdefault(event_id, set()).add(delivery_id)
        first_receipt[event_id] = min(first_receipt.get(event_id, math.inf), request.at)
        sends[delivery_id] = sends.get(delivery_id, 0) + 1
        if not verify(bench.secret, request.headers[HEADER], request.body):
            bad_signatures += 1
    delays = [first_receipt[id_] - at for id_, at in committed.items() if id_ in first_receipt]
    span = max(first_receipt.values(), default=0) - min(committed.values())
    return {
        "phase": phase,
        "events": len(committed),
        "committed_per_s": len(committed) / produced_in if produced_in else math.inf,
        "delivered_per_s": len(first_receipt) / span if span > 0 else 0.0,
        "p50": percentile(delays, 0.5) if delays else math.nan,
        "p99": percentile(delays, 0.99) if delays else math.nan,
        "max": max(delays, default=math.nan),
        "missing": len(set(committed) - set(first_receipt)),
        "two_deliveries": sum(1 for ids in deliveries_of.values() if len(ids) > 1),
        "sent_again": sum(count - 1 for count in sends.values()),
        "bad_signatures": bad_signatures,
    }


def row(result: dict, label: str) -> str:
    return (
        f"{label:10} {result['phase']:6} {result['events']:6} {result['committed_per_s']:9.0f}"
        f" {result['delivered_per_s']:9.0f} {result['p50'] * 1000:8.0f} {result['p99'] * 1000:8.0f}"
        f" {result['max'] * 1000:8.0f} {result['missing']:7} {result['two_deliveries']:6}"
        f" {result['sent_again']:6} {result['bad_signatures']:7}"
    )


def report(results: list[dict], args) -> bool:
    print(
        f"\n{args.workers} workers x {args.threads or 'WORKER_THREADS'} threads, Redis queue;"
        f" burst {args.burst} events ({args.burst_batch} a commit),"
        f" paced {args.rate:g}/s for {args.seconds:g} s"
    )
    print(
        "run        phase  events commits/s delivered/s   p50 ms   p99 ms   max ms"
        " missing  twice resent bad sig"
    )
    for result in results:
        print(row(result, f"run {result['run']}"))
    ok = all(not (r["missing"] or r["two_deliveries"] or r["bad_signatures"]) for r in results)
    bursts = [r for r in results if r["phase"] == "burst"]
    paces = [r for r in results if r["phase"] == "paced"]
    rate = statistics.median(r["delivered_per_s"] for r in bursts)
    p50 = statistics.median(r["p50"] for r in paces)
    p99 = statistics.median(r["p99"] for r in paces)
    burst_p99 = statistics.median(r["p99"] for r in bursts)
    print(f"\nmedians of {len(bursts)} runs:")
    print(
        f"  burst: {rate:.0f} events/s delivered (target >= {RATE_TARGET:.0f}:"
        f" {'met' if rate >= RATE_TARGET else 'MISSED'}); p99 delay {burst_p99:.2f} s"
    )
    print(
        f"  paced {args.rate:g}/s: delay p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        f" (target p99 < {P99_TARGET_S:g} s: {'met' if p99 < P99_TARGET_S else 'MISSED'})"
    )
    print(
        "  every event delivered once, signatures valid"
        if ok
        else "  FAILED: an event missing, delivered as two deliveries, or badly signed"
    )
    return ok


def run(args, workdir: str) -> int:
    url = database_url(args)
    say(f"creating {args.db_name}, migrating, seeding")
    create_database(args)
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("FLASK_ENV", None)
    flask_cli(env, 300, "db", "upgrade")
    flask_cli(env, 300, "seed")
    redis_server = None
    queue_url = args.queue_url
    if not queue_url:
        redis_server = RedisServer(os.path.join(workdir, "redis.log"))
        redis_server.start()
        queue_url = redis_server.url
    receiver = Receiver()
    connection = psycopg2.connect(url)
    workers = []
    try:
        secret = secrets.token_hex(32)
        webhook_id = add_webhook(connection, receiver.url, secret)
        bench = Bench(args, connection, receiver, webhook_id, secret, sample_payload(connection))
        say(f"starting {args.workers} workers on {queue_url}")
        environment = worker_env(url, queue_url)
        for number in range(args.workers):
            log_path = os.path.join(workdir, f"worker-{number}.log")
            workers.append(start_worker(environment, log_path, args.threads))
        results = []
        for number in range(1, args.runs + 1):
            for phase, produce in (("burst", burst), ("paced", paced)):
                say(f"run {number}: {phase}")
                result = measure(bench, phase, produce)
                results.append({**result, "run": number})
                say(row(result, f"run {number}"))
        ok = report(results, args)
    finally:
        for process in workers:
            stop_worker(process)
        connection.close()
        receiver.close()
        if redis_server is not None:
            redis_server.kill()
        drop_database(args)
    if not ok:
        for number in range(args.workers):
            print(tail(os.path.join(workdir, f"worker-{number}.log")), file=sys.stderr)
    return 0 if ok else 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of both phases (3)")
    parser.add_argument("--burst", type=int, default=2000, help="events in a burst (2000)")
    parser.add_argument("--burst-batch", type=int, default=100, help="events a commit (100)")
    parser.add_argument("--rate", type=float, default=200.0, help="paced events a second (200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="paced phase length (10)")
    parser.add_argument("--workers", type=int, default=2, help="flask worker processes (2)")
    parser.add_argument("--threads", type=int, default=None, help="task threads a worker")
    parser.add_argument("--queue-url", default=None, help="a Redis to use instead of our own")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--keep-log", action="store_true", help="keep the workers' logs")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="servicedesk_bench_webhooks")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench-webhooks-")
    try:
        return run(args, workdir)
    except SetupError as error:
        print(f"setup failed: {error}", file=sys.stderr)
        return 2
    finally:
        if args.keep_log:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
