"""Server-Sent Events under load: N streams on one ticket, M messages posted through the API.

    .venv/bin/python bench/sse.py [--streams 1000] [--messages 200] [--workers 2]

What it does, in order, and what it undoes at the end:

1. (Re)creates the PostgreSQL database `servicedesk_bench_sse` on postgres@127.0.0.1:5432 (trust
   auth), runs `flask db upgrade` and `flask seed` against it.
2. Starts `gunicorn -c gunicorn.conf.py app:app` on 127.0.0.1:<free port> (gevent workers unless
   --worker-class says otherwise), with the rate limits raised out of the way.
3. Logs in as the sample agent and requester, and the requester raises one ticket.
4. Opens N streams on GET /api/tickets/{id}/events, half with each token, from one asyncio loop
   (raw asyncio streams, HTTP/1.1, chunked decoding, SSE parsing), and waits until every stream
   has sent its `: connected` comment.
5. The agent posts M public messages through POST /api/messages, each body carrying its send time;
   meanwhile a probe GETs the ticket in a loop. Every stream stamps each message.created it gets.
6. Waits (bounded) for the streams to catch up, then checks every stream against the order of the
   message.created events in the database: all delivered, in order, none twice.
7. Prints a table, stops gunicorn (SIGTERM), drops the database.

Exit status: 0 when every stream got every message exactly once and in order, 1 otherwise,
2 when the setup failed. Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.pgdb import create_database, database_url, drop_database, pg_admin  # noqa: E402
from bench.support import (  # noqa: E402
    HOST,
    SetupError,
    flask_cli,
    free_port,
    say,
    start_gunicorn,
    stop_gunicorn,
    worker_pids,
)

BENCH_MARK = "bench "


# --------------------------------------------------------------------------------------------
# Database and server


def server_env(args, port: int) -> dict:
    env = dict(os.environ)
    env.pop("FLASK_ENV", None)  # development config: the default JWT secret is accepted
    env.update(
        {
            "DATABASE_URL": database_url(args),
            "BIND": f"{HOST}:{port}",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(args.workers),
            "RATELIMIT_DEFAULT": "1000000 per minute",
            "RATELIMIT_LOGIN": "1000000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            # The streams are opened by two users: lift the per-user cap (10) out of the way.
            "EVENTS_MAX_STREAMS_PER_USER": str(args.streams),
            "LOG_LEVEL": args.log_level,
        }
    )
    if args.worker_class:
        env["GUNICORN_WORKER_CLASS"] = args.worker_class
    return env


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def server_snapshot(master_pid: int) -> dict:
    workers = worker_pids(master_pid)
    return {
        "workers": workers,
        "rss_kib": {pid: rss_kib(pid) for pid in workers},
        "fds": {pid: fd_count(pid) for pid in workers},
        "master_rss_kib": rss_kib(master_pid),
    }


def pg_connections(args, listening_only: bool = False) -> int:
    """Sessions on the bench database; with listening_only, those of running dispatchers."""
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
    if listening_only:
        sql += " AND query ILIKE 'LISTEN %%'"
    try:
        connection = pg_admin(args)
        with connection.cursor() as cursor:
            cursor.execute(sql, (args.db_name,))
            count = cursor.fetchone()[0]
        connection.close()
        return count
    except psycopg2.Error:
        return -1


def message_events_in_db(args, ticket_id: int) -> list[tuple[int, int]]:
    """(event id, message id) of every message.created of the ticket, in event id order."""
    connection = psycopg2.connect(database_url(args))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, payload FROM events WHERE ticket_id = %s AND type = 'message.created' "
            "ORDER BY id",
            (ticket_id,),
        )
        rows = cursor.fetchall()
    connection.close()
    result = []
    for event_id, payload in rows:
        if isinstance(payload, str):
            payload = json.loads(payload)
        if str(payload.get("body", "")).startswith(BENCH_MARK):
            result.append((event_id, payload["id"]))
    return result


# --------------------------------------------------------------------------------------------
# A small HTTP/1.1 client on asyncio streams


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers


def request_bytes(method: str, path: str, port: int, headers: dict, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    for key, value in headers.items():
        lines.append(f"{key}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class ChunkedDecoder:
    """Incremental Transfer-Encoding: chunked decoder."""

    def __init__(self):
        self.buffer = bytearray()
        self.remaining = -1  # -1: expecting a size line; -2: expecting the CRLF after data
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        out = bytearray()
        while not self.done:
            if self.remaining == -1:
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    break
                size = int(bytes(self.buffer[:end]).split(b";")[0], 16)
                del self.buffer[: end + 2]
                if size == 0:
                    self.done = True
                    break
                self.remaining = size
            elif self.remaining == -2:
                if len(self.buffer) < 2:
                    break
                del self.buffer[:2]
                self.remaining = -1
            else:
                if not self.buffer:
                    break
                take = min(self.remaining, len(self.buffer))
                out += self.buffer[:take]
                del self.buffer[:take]
                self.remaining -= take
                if self.remaining == 0:
                    self.remaining = -2
        return bytes(out)


async def http_request(
    port: int, method: str, path: str, headers: dict | None = None, payload=None, timeout=30.0
) -> tuple[int, dict | list | None]:
    """One request on its own connection (Connection: close); the JSON body of the answer."""
    headers = {"Connection": "close", "Accept": "application/json", **(headers or {})}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"

    async def exchange():
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(request_bytes(method, path, port, headers, body))
            await writer.drain()
            status, response_headers = await read_head(reader)
            if "content-length" in response_headers:
                raw = await reader.readexactly(int(response_headers["content-length"]))
            elif response_headers.get("transfer-encoding", "").lower() == "chunked":
                decoder, raw = ChunkedDecoder(), b""
                while not decoder.done:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    raw += decoder.feed(chunk)
            else:
                raw = await reader.read()
            return status, json.loads(raw) if raw else None
        finally:
            writer.close()

    return await asyncio.wait_for(exchange(), timeout)


# --------------------------------------------------------------------------------------------
# Event streams


@dataclass
class Stream:
    index: int
    role: str
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    received: list = field(default_factory=list)  # (event id, message id, seq, sent, received)
    errors: list = field(default_factory=list)
    heartbeats: int = 0
    closed_by_server: bool = False
    task: asyncio.Task | None = None
    writer: asyncio.StreamWriter | None = None


def parse_body(body: str) -> tuple[int, float] | None:
    """`bench <seq> t=<unix time>` -> (seq, time)."""
    if not body.startswith(BENCH_MARK):
        return None
    try:
        seq_part, time_part = body[len(BENCH_MARK) :].split(" t=", 1)
        return int(seq_part), float(time_part)
    except ValueError:
        return None


def handle_sse_block(stream: Stream, block: str, now: float) -> None:
    fields: dict[str, str] = {}
    for line in block.split("\n"):
        if not line:
            continue
        if line.startswith(":"):
            comment = line[1:].strip()
            if comment == "connected":
                stream.connected.set()
            elif comment == "heartbeat":
                stream.heartbeats += 1
            continue
        key, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        fields[key] = fields[key] + "\n" + value if key in fields else value
    event = fields.get("event")
    if event == "error":
        stream.errors.append(f"event: error {fields.get('data')}")
    elif event == "message.created":
        try:
            payload = json.loads(fields.get("data", "{}"))
        except ValueError:
            stream.errors.append("unparsable data line")
            return
        parsed = parse_body(str(payload.get("body", "")))
        if parsed is None:
            return
        seq, sent = parsed
        stream.received.append((int(fields.get("id", -1)), payload.get("id"), seq, sent, now))


async def run_stream(stream: Stream, port: int, path: str, token: str, connect_limit) -> None:
    try:
        async with connect_limit:  # only bounds how many handshakes are in flight at once
            reader, writer = await asyncio.open_connection(HOST, port)
            stream.writer = writer
            writer.write(
                request_bytes(
                    "GET",
                    path,
                    port,
                    {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
                    None,
                )
            )
            await writer.drain()
            status, headers = await read_head(reader)
            if status != 200:
                stream.errors.append(f"HTTP {status}")
                writer.close()
                return
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        decoder = ChunkedDecoder() if chunked else None
        utf8 = codecs.getincrementaldecoder("utf-8")()
        text = ""
        while True:
            data = await reader.read(65536)
            now = time.time()
            if not data:
                stream.closed_by_server = True
                return
            if decoder is not None:
                data = decoder.feed(data)
            text += utf8.decode(data)
            *blocks, text = text.split("\n\n")
            for block in blocks:
                handle_sse_block(stream, block, now)
            if decoder is not None and decoder.done:
                stream.closed_by_server = True
                return
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a reset, a refused connection: the stream counts as failed
        stream.errors.append(f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# The run


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)  # nearest rank
    return ordered[max(0, min(len(ordered), math.ceil(q / 100 * len(ordered))) - 1)]


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


async def login(port: int, email: str, password: str) -> str:
    status, body = await http_request(
        port, "POST", "/api/auth/login", payload={"email": email, "password": password}
    )
    if status != 200:
        raise SetupError(f"login as {email}: HTTP {status} {body}")
    return body["access_token"]


async def probe_reads(port, token, ticket_id, stop: asyncio.Event, latencies, failures, limit):
    """GET the ticket back to back while messages are posted: REST reads under load."""
    for _ in range(limit):
        if stop.is_set():
            return
        started = time.perf_counter()
        try:
            status, _ = await http_request(
                port, "GET", f"/api/tickets/{ticket_id}", {"Authorization": f"Bearer {token}"}
            )
        except Exception as exc:
            latencies.append(time.perf_counter() - started)  # a timeout counts as its 30 s
            failures.append(f"GET: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.05)
            continue
        latencies.append(time.perf_counter() - started)
        if status != 200:
            failures.append(f"GET: HTTP {status}")
        await asyncio.sleep(0.02)


async def post_messages(args, port, token, ticket_id, latencies, failures) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for seq in range(args.messages):
        queue.put_nowait(seq)
    headers = {"Authorization": f"Bearer {token}"}

    async def poster():
        while True:
            try:
                seq = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            sent = time.time()
            started = time.perf_counter()
            body = {"ticket_id": ticket_id, "body": f"{BENCH_MARK}{seq} t={sent:.6f}"}
            try:
                status, answer = await http_request(port, "POST", "/api/messages", headers, body)
            except Exception as exc:
                latencies.append(time.perf_counter() - started)  # a timeout counts as its 30 s
                failures.append(f"POST {seq}: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)
            if status != 201:
                failures.append(f"POST {seq}: HTTP {status} {answer}")
            if args.post_interval:
                await asyncio.sleep(args.post_interval)

    await asyncio.gather(*(poster() for _ in range(max(1, args.post_concurrency))))


async def bench(args, port: int, master_pid: int, report: dict) -> None:
    agent = await login(port, "agent@example.com", "agent123!")
    requester = await login(port, "requester@example.com", "requester123!")
    status, ticket = await http_request(
        port,
        "POST",
        "/api/tickets",
        {"Authorization": f"Bearer {requester}"},
        {"title": "SSE bench", "description": "A ticket for bench/sse.py.", "category": "other"},
    )
    if status != 201:
        raise SetupError(f"creating the ticket: HTTP {status} {ticket}")
    ticket_id = ticket["id"]
    report["ticket_id"] = ticket_id
    report["idle"] = server_snapshot(master_pid)

    # Open the streams.
    path = f"/api/tickets/{ticket_id}/events"
    connect_limit = asyncio.Semaphore(args.connect_concurrency)
    streams: list[Stream] = []
    report["streams"] = streams

    def open_one() -> Stream:
        index = len(streams)
        role = "requester" if index % 2 else "agent"
        stream = Stream(index=index, role=role)
        token = requester if role == "requester" else agent
        stream.task = asyncio.create_task(run_stream(stream, port, path, token, connect_limit))
        streams.append(stream)
        return stream

    started = time.perf_counter()
    if args.warmup:
        # One stream at a time until every worker's dispatcher is up (each holds a LISTEN
        # session), so that the burst below meets running dispatchers.
        for _ in range(min(args.streams, args.warmup_limit)):
            stream = open_one()
            try:
                await asyncio.wait_for(stream.connected.wait(), timeout=35)
            except TimeoutError:
                pass
            if pg_connections(args, listening_only=True) >= args.workers:
                break
        report["warmup_streams"] = len(streams)
        say(
            f"warm-up: {len(streams)} streams opened one by one, "
            f"{pg_connections(args, listening_only=True)} dispatchers listening"
        )
    while len(streams) < args.streams:
        open_one()

    deadline = time.monotonic() + args.connect_timeout
    while time.monotonic() < deadline:
        connected = sum(stream.connected.is_set() for stream in streams)
        failed = sum(bool(stream.errors) or stream.task.done() for stream in streams)
        if connected == len(streams) or connected + failed >= len(streams):
            break
        await asyncio.sleep(0.05)
    report["connect_seconds"] = time.perf_counter() - started
    report["connected"] = sum(stream.connected.is_set() for stream in streams)
    report["pg_connections_streams_open"] = pg_connections(args)
    report["dispatchers_listening"] = pg_connections(args, listening_only=True)
    seconds = report["connect_seconds"]
    say(f"{report['connected']}/{len(streams)} streams connected in {seconds:.1f} s")

    # Post the messages while a probe reads the ticket.
    post_latencies, get_latencies, failures = [], [], []
    stop_probe = asyncio.Event()
    probe = asyncio.create_task(
        probe_reads(port, agent, ticket_id, stop_probe, get_latencies, failures, 100_000)
    )
    started = time.perf_counter()
    try:
        await asyncio.wait_for(
            post_messages(args, port, agent, ticket_id, post_latencies, failures),
            timeout=args.post_timeout,
        )
    except TimeoutError:
        failures.append(f"posting did not finish within {args.post_timeout} s")
    report["post_seconds"] = time.perf_counter() - started
    report["pg_connections_during_posts"] = pg_connections(args)
    stop_probe.set()
    await asyncio.wait_for(probe, timeout=35)
    posted = args.messages - sum(f.startswith("POST") for f in failures)
    say(f"{posted} of {args.messages} POSTs answered 201 in {report['post_seconds']:.1f} s")

    # Let the streams catch up, within bounds.
    deadline = time.monotonic() + args.drain_timeout
    drain_started = time.perf_counter()
    while time.monotonic() < deadline:
        if all(len(s.received) >= args.messages or s.task.done() for s in streams):
            break
        await asyncio.sleep(0.05)
    report["drain_seconds"] = time.perf_counter() - drain_started
    report["loaded"] = server_snapshot(master_pid)
    report["open_at_snapshot"] = sum(s.connected.is_set() and not s.task.done() for s in streams)

    for stream in streams:
        stream.task.cancel()
    await asyncio.gather(*(stream.task for stream in streams), return_exceptions=True)
    for stream in streams:
        if stream.writer is not None:
            stream.writer.close()

    report["post_latencies"] = post_latencies
    report["get_latencies"] = get_latencies
    report["rest_failures"] = failures
    report["reference"] = message_events_in_db(args, ticket_id)


def evaluate(args, report: dict) -> bool:
    streams = report["streams"]
    reference = report["reference"]
    expected = args.streams * args.messages
    delivered = sum(len(stream.received) for stream in streams)
    out_of_order = duplicates = missing_streams = late_start = 0
    position = {item: index for index, item in enumerate(reference)}
    stream_errors = []
    latencies = []
    for stream in streams:
        got = [(event_id, message_id) for event_id, message_id, *_ in stream.received]
        if len(set(got)) != len(got):
            duplicates += 1
        # From its first message on, a stream must see exactly the database's sequence: no
        # gap, no repeat, no swap. (A stream that connected late starts further along.)
        start = position.get(got[0]) if got else 0
        if start is None or got != reference[start : start + len(got)]:
            out_of_order += 1
        elif got and start > 0:
            late_start += 1
        if len(got) < args.messages:
            missing_streams += 1
        for *_, sent, received in stream.received:
            latencies.append(received - sent)
        if stream.errors:
            stream_errors.append((stream.index, stream.role, stream.errors[:3]))

    idle, loaded = report.get("idle", {}), report.get("loaded", {})
    workers_rss = sum(loaded.get("rss_kib", {}).values())
    idle_rss = sum(idle.get("rss_kib", {}).values())
    rows = [
        (
            "streams connected",
            f"{report.get('connected', 0)} / {args.streams} within the connect phase, "
            f"{sum(stream.connected.is_set() for stream in streams)} in all",
        ),
        ("messages posted (in database)", f"{len(reference)} / {args.messages}"),
        ("events delivered / expected", f"{delivered} / {expected}"),
        ("streams short of messages", str(missing_streams)),
        ("streams whose first message was not #0", str(late_start)),
        ("streams out of order", str(out_of_order)),
        ("streams with duplicates", str(duplicates)),
        ("delivery latency p50", ms(percentile(latencies, 50))),
        ("delivery latency p99", ms(percentile(latencies, 99))),
        ("delivery latency max", ms(max(latencies) if latencies else None)),
        ("REST POST /api/messages p50", ms(percentile(report.get("post_latencies", []), 50))),
        ("REST POST /api/messages p99", ms(percentile(report.get("post_latencies", []), 99))),
        (
            "REST GET /api/tickets/{id} p50",
            ms(percentile(report.get("get_latencies", []), 50)),
        ),
        (
            "REST GET /api/tickets/{id} p99",
            ms(percentile(report.get("get_latencies", []), 99)),
        ),
        ("REST failures", str(len(report.get("rest_failures", [])))),
        ("workers' total RSS, idle", f"{idle_rss / 1024:.1f} MiB ({len(idle.get('workers', []))})"),
        (
            "workers' total RSS, streams open",
            f"{workers_rss / 1024:.1f} MiB ({report.get('open_at_snapshot', 0)} streams open)",
        ),
        (
            "per worker: RSS MiB / open fds",
            ", ".join(
                f"{loaded['rss_kib'][pid] / 1024:.0f}/{loaded['fds'][pid]}"
                for pid in loaded.get("workers", [])
            ),
        ),
        (
            "PostgreSQL connections",
            f"{report.get('pg_connections_streams_open')} with streams open, "
            f"{report.get('pg_connections_during_posts')} after posting",
        ),
        (
            "dispatchers listening (LISTEN sessions)",
            f"{report.get('dispatchers_listening')} of {args.workers} workers"
            + (f", after {report['warmup_streams']} warm-up streams" if args.warmup else ""),
        ),
        (
            "phases",
            f"connect {report.get('connect_seconds', 0):.1f} s, "
            f"post {report.get('post_seconds', 0):.1f} s, "
            f"drain {report.get('drain_seconds', 0):.1f} s",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    print(
        f"bench/sse: {args.streams} streams, {args.messages} messages, {args.workers} workers "
        f"({args.worker_class or os.environ.get('GUNICORN_WORKER_CLASS', 'gevent')})"
    )
    print("-" * (width + 30))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("-" * (width + 30))
    p99 = percentile(latencies, 99)
    ok = (
        delivered == expected
        and out_of_order == 0
        and duplicates == 0
        and len(reference) == args.messages
    )
    print(f"delivery: {'PASS' if ok else 'FAIL'}", end="")
    print(f"; p99 target < 1 s: {'met' if p99 is not None and p99 < 1 else 'MISSED'}")
    if stream_errors:
        print(f"{len(stream_errors)} streams reported errors, e.g.:")
        for index, role, errors in stream_errors[:5]:
            print(f"  stream {index} ({role}): {errors}")
    closed = sum(stream.closed_by_server for stream in streams)
    if closed:
        print(f"{closed} streams were closed by the server before the end")
    for failure in report.get("rest_failures", [])[:5]:
        print(f"  {failure}")
    return ok


def summarise_log(log_path: str) -> None:
    """Count the server's tracebacks by exception and by the innermost frame in app/."""
    try:
        with open(log_path, errors="replace") as log:
            lines = log.read().splitlines()
    except OSError:
        return
    app_dir = os.path.join(ROOT, "app") + os.sep
    tracebacks: dict[tuple[str, str], int] = {}
    others: dict[str, int] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("Traceback"):
            frame = "?"
            index += 1
            while index < len(lines) and lines[index].startswith(" "):
                stripped = lines[index].strip()
                if stripped.startswith(f'File "{app_dir}'):
                    frame = stripped[len('File "') :].replace(app_dir, "app/", 1).replace('"', "")
                index += 1
            exception = lines[index][:160] if index < len(lines) else "?"
            tracebacks[(exception, frame)] = tracebacks.get((exception, frame), 0) + 1
        elif any(word in line for word in ("[CRITICAL]", "[ERROR]", "[WARNING]", "WARNING:")):
            key = line.split("] ", 3)[-1][:160]
            others[key] = others.get(key, 0) + 1
        index += 1
    if not tracebacks and not others:
        return
    print(f"server log ({log_path}):")
    for (exception, frame), count in sorted(tracebacks.items(), key=lambda item: -item[1]):
        print(f"  {count:5d} x {exception}")
        print(f"          innermost app frame: {frame}")
    for line, count in sorted(others.items(), key=lambda item: -item[1])[:10]:
        print(f"  {count:5d} x {line}")


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        print(f"warning: only {target} file descriptors for {needed} wanted", file=sys.stderr)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--worker-class", default=None, help="GUNICORN_WORKER_CLASS (gevent)")
    parser.add_argument("--post-concurrency", type=int, default=1, help="POSTs in flight")
    parser.add_argument("--post-interval", type=float, default=0.0, help="pause after a POST, s")
    parser.add_argument("--connect-concurrency", type=int, default=200, help="handshakes at once")
    parser.add_argument(
        "--warmup",
        action="store_true",
        help="open streams one by one until every worker's dispatcher runs, then the burst",
    )
    parser.add_argument("--warmup-limit", type=int, default=40, help="most warm-up streams")
    parser.add_argument("--connect-timeout", type=float, default=120.0)
    parser.add_argument("--post-timeout", type=float, default=300.0)
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="servicedesk_bench_sse")
    parser.add_argument("--log-level", default="warning", help="gunicorn and app LOG_LEVEL")
    parser.add_argument("--keep-log", action="store_true", help="keep the gunicorn log file")
    args = parser.parse_args(argv)
    if args.streams < 1 or args.messages < 1 or args.workers < 1:
        parser.error("--streams, --messages and --workers must be at least 1")
    if args.pg_host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("this bench only talks to a local PostgreSQL")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    raise_fd_limit(args.streams + 256)
    port = free_port()
    log_dir = tempfile.mkdtemp(prefix="bench-sse-")
    log_path = os.path.join(log_dir, "gunicorn.log")
    env = server_env(args, port)
    report: dict = {}
    process = None
    ok = False
    try:
        say(f"database {args.db_name}: create, migrate, seed")
        create_database(args)
        flask_cli(env, 120, "db", "upgrade")
        flask_cli(env, 120, "seed")
        say(f"gunicorn on {HOST}:{port}, {args.workers} workers (log: {log_path})")
        process = start_gunicorn(env, "app:app", log_path)
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SetupError(f"gunicorn exited with {process.returncode}")
            try:
                status, _ = asyncio.run(http_request(port, "GET", "/health", timeout=2))
                if status == 200 and len(worker_pids(process.pid)) >= args.workers:
                    break
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                pass
            if time.monotonic() > deadline:
                raise SetupError("gunicorn did not answer /health within 60 s")
            time.sleep(0.2)
        say(f"opening {args.streams} streams, then posting {args.messages} messages")
        asyncio.run(bench(args, port, process.pid, report))
        ok = evaluate(args, report)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if process is not None:
            say("stopping gunicorn")
            stop_gunicorn(process, timeout=45)
            say(f"gunicorn stopped ({process.returncode})")
        summarise_log(log_path)
        drop_database(args)
        if not args.keep_log:
            shutil.rmtree(log_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
