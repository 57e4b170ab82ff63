"""Mail throughput: inbound mails per second through POST /api/inbound/email, and notification
mails per second through the worker to a local SMTP server.

    .venv/bin/python bench/mail.py [--mails 600] [--rounds 3] [--concurrency 8] [--workers 2]

What it does:

1. Drops and creates the database `servicedesk_bench_mail`, runs `flask db upgrade` and
   `flask seed` against it, starts an SMTP server (aiosmtpd) on a free port of 127.0.0.1, and
   gunicorn (`--workers` gevent workers) with INBOUND_EMAIL_TOKEN set and MAIL_SERVER pointing
   at that SMTP server.
2. Each of `--rounds` rounds, with no worker running:
   - inbound: `--concurrency` threads POST `--mails` raw mails (a unique Message-ID each; half
     new tickets from the sample requester, half replies to her open sample tickets by `[#id]`
     with an Outlook-style quoted original), timed from the first request to the last answer;
     every answer must be a 201.
   - notifications: starts `flask worker` (`--worker-threads`, default 4) and waits until every
     event of the round has been fanned out and every mail is `sent`; the rate is the mails of
     the round over the time from the first mail's creation to the last mail's `sent_at`
     (worker start-up excluded), and the SMTP server must have received each of them once.
3. Prints per-round figures and their medians, stops everything and drops the database.

Needs a local PostgreSQL on 127.0.0.1:5432 with trust auth for `postgres` (as CI has). Exit
status 0 when every check passed (the 50 mails/s inbound goal is reported, not enforced), 1 when
one failed, 2 when the set-up failed.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # bench/http.py would shadow the standard library's http package

import argparse  # noqa: E402
import http.client  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import psycopg2  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from bench.pgdb import create_database, database_url, drop_database  # noqa: E402
from bench.support import (  # noqa: E402
    HOST,
    VENV_BIN,
    SetupError,
    flask_cli,
    free_port,
    say,
    start_gunicorn,
    stop_gunicorn,
)

TOKEN = "bench-inbound-token-0123456789abcdef0123"
REQUESTER = "requester@example.com"
INBOUND_GOAL = 50.0


class CountingSmtp:
    """An SMTP server that counts what it accepts, by Message-ID."""

    def __init__(self, port: int) -> None:
        self.message_ids: list[str] = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname=HOST, port=port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                with self.lock:
                    self.message_ids.append(line.split(b":", 1)[1].strip().decode())
                break
            if not line:
                break
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mails", type=int, default=600, help="inbound mails per round (600)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--concurrency", type=int, default=8, help="posting threads (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--worker-threads", type=int, default=4, help="flask worker threads (4)")
    parser.add_argument("--db-name", default="servicedesk_bench_mail")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--keep-log", action="store_true", help="keep the server/worker logs")
    args = parser.parse_args(argv)
    if min(args.mails, args.rounds, args.concurrency, args.workers, args.worker_threads) < 1:
        parser.error("every count must be at least 1")
    if args.pg_host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("this bench only talks to a local PostgreSQL")
    return args


def server_env(args, port: int, smtp_port: int, queue_path: str) -> dict:
    env = dict(os.environ)
    env.pop("FLASK_ENV", None)  # development config: the default JWT secret is accepted
    env.update(
        {
            "DATABASE_URL": database_url(args),
            "BIND": f"{HOST}:{port}",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(args.workers),
            "LOG_LEVEL": "WARNING",
            "INBOUND_EMAIL_TOKEN": TOKEN,
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(smtp_port),
            "MAIL_FROM": "ServiceDesk <support@desk.example>",
            "QUEUE_URL": f"sqlite:///{queue_path}",
        }
    )
    return env


def raw_mail(round_number: int, number: int, reply_to: list[int]) -> bytes:
    message_id = f"<bench-{round_number}-{number}@example.com>"
    if number % 2 == 0 or not reply_to:
        subject = f"Bench ticket {round_number}-{number}: the printer jams"
        body = "The printer on the third floor jams on every second page.\r\n\r\nRita\r\n"
    else:
        ticket_id = reply_to[number % len(reply_to)]
        subject = f"RE: [#{ticket_id}] Sample ticket"
        body = (
            "Still happening this morning.\r\n\r\nRita\r\n\r\n"
            "________________________________\r\nFrom: ServiceDesk <support@desk.example>\r\n"
            "Sent: Tuesday, March 3, 2026 9:14 AM\r\nSubject: [#1] Sample ticket\r\n\r\n"
            "Hello Rita,\r\n\r\nplease try again.\r\n"
        )
    return (
        f"From: Rita Requester <{REQUESTER}>\r\nTo: support@desk.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n"
        "Date: Tue, 3 Mar 2026 09:31:09 +0000\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="utf-8"\r\n\r\n{body}'
    ).encode()


def post_all(port: int, mails: list[bytes], concurrency: int) -> tuple[float, dict[int, int]]:
    """Seconds from the first request to the last answer, and the answers by status."""
    local = threading.local()
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def post(raw: bytes) -> None:
        if getattr(local, "connection", None) is None:
            local.connection = http.client.HTTPConnection(HOST, port, timeout=30)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"}
        try:
            local.connection.request("POST", "/api/inbound/email", body=raw, headers=headers)
            response = local.connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            local.connection.close()
            local.connection = None
            status = 0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, mails))
    return time.perf_counter() - started, statuses


def query(args, sql: str, *params):
    with psycopg2.connect(database_url(args)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def open_requester_tickets(args) -> list[int]:
    rows = query(
        args,
        "SELECT t.id FROM tickets t JOIN users u ON u.id = t.requester_id "
        "WHERE u.email = %s AND t.status <> 'closed' ORDER BY t.id",
        REQUESTER,
    )
    return [row[0] for row in rows]


def start_worker(env: dict, threads: int, log_path: str) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(
        [os.path.join(VENV_BIN, "flask"), "--app", "app", "worker", "--threads", str(threads)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process


def drain(args, env, log_path, first_mail_id: int, timeout: float = 300) -> dict:
    """Run a worker until every event is fanned out and every mail of this round is sent."""
    worker = start_worker(env, args.worker_threads, log_path)
    deadline = time.monotonic() + timeout
    try:
        while True:
            [(newest, position, pending, total)] = query(
                args,
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM events), "
                "(SELECT event_id FROM outbox_positions WHERE name = 'mail'), "
                "(SELECT COUNT(*) FROM mails WHERE status = 'pending' AND id > %s), "
                "(SELECT COUNT(*) FROM mails WHERE id > %s)",
                first_mail_id,
                first_mail_id,
            )
            if position is not None and position >= newest and total and not pending:
                break
            if worker.poll() is not None:
                raise SetupError(f"the worker exited with {worker.returncode}")
            if time.monotonic() > deadline:
                raise SetupError(f"mails not sent within {timeout:.0f} s ({pending} pending)")
            time.sleep(0.2)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    [(count, failed, seconds)] = query(
        args,
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE status <> 'sent'), "
        "EXTRACT(EPOCH FROM MAX(sent_at) - MIN(created_at)) FROM mails WHERE id > %s",
        first_mail_id,
    )
    ids = [
        row[0] for row in query(args, "SELECT message_id FROM mails WHERE id > %s", first_mail_id)
    ]
    return {"count": count, "failed": failed, "seconds": float(seconds or 0), "ids": ids}


def main(argv=None) -> int:
    args = parse_args(argv)
    port, smtp_port = free_port(), free_port()
    work_dir = tempfile.mkdtemp(prefix="bench-mail-")
    server_log = os.path.join(work_dir, "gunicorn.log")
    worker_log = os.path.join(work_dir, "worker.log")
    env = server_env(args, port, smtp_port, os.path.join(work_dir, "queue.db"))
    smtp = server = None
    rounds: list[dict] = []
    problems: list[str] = []
    try:
        say(f"database {args.db_name}: create, migrate, seed")
        create_database(args)
        flask_cli(env, 120, "db", "upgrade")
        flask_cli(env, 120, "seed")
        smtp = CountingSmtp(smtp_port)
        say(f"gunicorn on {HOST}:{port}, {args.workers} workers; SMTP on {HOST}:{smtp_port}")
        server = start_gunicorn(env, "app:app", server_log)
        wait_for_health(server, port)
        reply_to = open_requester_tickets(args)
        for number in range(1, args.rounds + 1):
            mails = [raw_mail(number, index, reply_to) for index in range(args.mails)]
            [(last_mail,)] = query(args, "SELECT COALESCE(MAX(id), 0) FROM mails")
            seconds, statuses = post_all(port, mails, args.concurrency)
            if statuses != {201: args.mails}:
                problems.append(f"round {number}: inbound answers {statuses}")
            say(f"round {number}: {args.mails} mails in {seconds:.2f} s; worker draining")
            sent = drain(args, env, worker_log, last_mail)
            received = set(smtp.message_ids)
            missing = [mid for mid in sent["ids"] if mid not in received]
            if sent["failed"] or missing or len(smtp.message_ids) != len(received):
                problems.append(
                    f"round {number}: {sent['failed']} not sent, {len(missing)} not received, "
                    f"{len(smtp.message_ids) - len(received)} received twice"
                )
            rounds.append(
                {
                    "inbound": args.mails / seconds,
                    "mails": sent["count"],
                    "notify": sent["count"] / sent["seconds"] if sent["seconds"] else 0.0,
                }
            )
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            stop_gunicorn(server)
        if smtp is not None:
            smtp.stop()
        drop_database(args)
        if args.keep_log:
            say(f"logs kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    report(args, rounds, problems)
    return 1 if problems else 0


def wait_for_health(server, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupError(f"gunicorn exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SetupError("gunicorn did not answer /health within 60 s")


def report(args, rounds: list[dict], problems: list[str]) -> None:
    print()
    print(f"{'round':>5} {'inbound mails/s':>16} {'notifications':>14} {'notifications/s':>16}")
    for number, figures in enumerate(rounds, 1):
        print(
            f"{number:>5} {figures['inbound']:>16.1f} {figures['mails']:>14} "
            f"{figures['notify']:>16.1f}"
        )
    if rounds:
        inbound = statistics.median(r["inbound"] for r in rounds)
        notify = statistics.median(r["notify"] for r in rounds)
        verdict = "met" if inbound >= INBOUND_GOAL else "MISSED"
        print(f"{'median':>5} {inbound:>16.1f} {'':>14} {notify:>16.1f}")
        print(f"inbound goal {INBOUND_GOAL:.0f} mails/s: {verdict}")
    for problem in problems:
        print(f"FAILED: {problem}")


if __name__ == "__main__":
    sys.exit(main())
