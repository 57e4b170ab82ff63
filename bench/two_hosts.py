"""Two app hosts behind HAProxy, sharing one PostgreSQL and one Redis (issue 17, part 4).

Usage: .venv/bin/python bench/two_hosts.py [--events 100] [--kill-seconds 12] [--clients 4]
Run by .ci/run. Needs root; skipped (exit 0, with a message) only where `ip netns add` is
refused. Exit 1 when a check fails, 2 when the setup failed.

1. A bridge 10.77.0.1/24 in the root namespace; namespaces sd2h-a (10.77.0.11) and sd2h-b
   (10.77.0.12) joined to it by veth pairs. A scratch PostgreSQL (initdb in a temporary
   folder, run as `postgres`) and a redis-server listen on 10.77.0.1 only; `flask db upgrade`
   and `flask seed` fill the database.
2. Each namespace runs `gunicorn -c gunicorn.conf.py app:app` (FLASK_ENV=production, one JWT
   secret for both) and `flask worker`: QUEUE_URL and RATELIMIT_STORAGE_URI on the Redis.
   HAProxy on 127.0.0.1 balances them round-robin with health checks on /health, and says
   which host answered in X-Served-By, which the checks below rely on.
3. Through the balancer only:
   - events: a stream on `GET /api/events` held by each host; `--events` tickets created
     through the balancer (so on both hosts); each event must reach the stream on the other
     host, p99 within 1 s of sending the POST that committed it;
   - rate limits: the per-account login limit (RATELIMIT_LOGIN_PER_ACCOUNT, set to 6 a minute)
     counts attempts on both hosts together;
   - idempotency: a POST retried with its Idempotency-Key on the other host gets the same 201
     and body back with `Idempotent-Replayed: true`, and one ticket exists;
   - a host killed: `--clients` clients create tickets with Idempotency-Keys (retrying each
     until it is acknowledged) while every process of host a gets SIGKILL; afterwards every
     acknowledged ticket is in the database once. Requests that failed meanwhile and HAProxy's
     retries and redispatches are reported.
4. Everything is undone in any case: processes, namespaces, bridge, PostgreSQL and its folder.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds http.py, which would shadow the standard library's http package.
sys.path[0] = ROOT

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402

import redis  # noqa: E402

from bench import hosts  # noqa: E402
from bench.queue_support import tail  # noqa: E402
from bench.support import SetupError, flask_cli, say  # noqa: E402

LOGIN_LIMIT = 6


def call(port: int, method: str, path: str, body=None, headers=None, timeout: float = 30):
    """One request on a new connection, so that the balancer picks a host for each."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def login(port: int, email: str, password: str) -> dict:
    status, _, data = call(port, "POST", "/api/auth/login", {"email": email, "password": password})
    if status != 200:
        raise SetupError(f"login of {email} through the balancer: {status} {data[:200]!r}")
    token = json.loads(data)["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: with 100 values, p99 is the second largest."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


# --------------------------------------------------------------------------------------------
# Events across hosts


class Stream:
    """`GET /api/events` through the balancer; records when each ticket.created arrived."""

    def __init__(self, port: int, headers: dict) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.request("GET", "/api/events", headers=headers)
        self.response = self.connection.getresponse()
        if self.response.status != 200:
            raise SetupError(f"stream through the balancer: {self.response.status}")
        self.host = self.response.headers.get("X-Served-By")
        self.arrivals: dict[str, float] = {}  # ticket title -> monotonic time
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event = None
        try:
            while line := self.response.readline():
                line = line.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "ticket.created":
                    self.arrivals.setdefault(json.loads(line[5:])["title"], time.monotonic())
                elif not line:
                    event = None
        except Exception:  # noqa: BLE001  (closed by close(), or the host died: either ends it)
            pass

    def close(self) -> None:
        try:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


def open_stream_on_each_host(port: int, headers: dict) -> dict[str, Stream]:
    streams: dict[str, Stream] = {}
    for _ in range(6):
        stream = Stream(port, headers)
        if stream.host in streams:
            stream.close()
        else:
            streams[stream.host] = stream
        if set(streams) == set(hosts.HOSTS):
            return streams
    raise SetupError(f"streams opened through the balancer all landed on {sorted(streams)}")


def scenario_events(port: int, headers: dict, count: int) -> dict:
    streams = open_stream_on_each_host(port, headers)
    sent: list[tuple[str, str, float, float]] = []  # title, host, before POST, after 201
    try:
        for number in range(count):
            title = f"sse-{number}-{uuid.uuid4().hex[:6]}"
            before = time.monotonic()
            status, response_headers, data = call(
                port, "POST", "/api/tickets", {"title": title, "description": "x"}, headers
            )
            if status != 201:
                raise SetupError(f"POST /api/tickets: {status} {data[:200]!r}")
            sent.append((title, response_headers.get("X-Served-By"), before, time.monotonic()))
            time.sleep(0.02)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            len(stream.arrivals) < count for stream in streams.values()
        ):
            time.sleep(0.05)
    finally:
        for stream in streams.values():
            stream.close()
    cross, cross_after_201, same, missing, directions = [], [], [], 0, {}
    for title, host, before, after in sent:
        for stream_host, stream in streams.items():
            arrived = stream.arrivals.get(title)
            if arrived is None:
                missing += 1
            elif stream_host != host:
                cross.append(arrived - before)
                cross_after_201.append(arrived - after)
                direction = f"{host}->{stream_host}"
                directions[direction] = directions.get(direction, 0) + 1
            else:
                same.append(arrived - before)
    return {
        "events": count,
        "missing": missing,
        "cross_host": directions,
        "cross_p50_ms": ms(percentile(cross, 0.5)),
        "cross_p99_ms": ms(percentile(cross, 0.99)),
        "cross_max_ms": ms(max(cross, default=None)),
        # The commit lies between the POST and its 201: this is the lower bound of the delay.
        "cross_p99_after_201_ms": ms(percentile(cross_after_201, 0.99)),
        "same_host_p50_ms": ms(percentile(same, 0.5)),
    }


# --------------------------------------------------------------------------------------------
# Rate limits, idempotency


def scenario_rate_limit(port: int, redis_port: int) -> dict:
    attempts = []
    for _ in range(LOGIN_LIMIT + 3):
        status, response_headers, _ = call(
            port, "POST", "/api/auth/login", {"email": "manager@example.com", "password": "wrong"}
        )
        attempts.append((status, response_headers.get("X-Served-By")))
    client = redis.Redis(host=hosts.GATEWAY, port=redis_port, db=1, socket_timeout=2)
    try:
        keys = [key.decode() for key in client.scan_iter(match="*login-account*manager*")]
    finally:
        client.close()
    allowed = [host for status, host in attempts if status == 401]
    return {
        "statuses": [status for status, _ in attempts],
        "allowed_on": {host: allowed.count(host) for host in sorted(set(allowed))},
        "limited_on": sorted({host for status, host in attempts if status == 429}),
        "redis_keys": len(keys),
    }


def scenario_idempotency(port: int, headers: dict, postgres: hosts.ScratchPostgres) -> dict:
    title = f"idem-{uuid.uuid4().hex[:8]}"
    keyed = {**headers, "Idempotency-Key": title}
    body = {"title": title, "description": "Retried on the other host."}
    first_status, first_headers, first_body = call(port, "POST", "/api/tickets", body, keyed)
    first_host = first_headers.get("X-Served-By")
    retry = None
    for _ in range(4):  # round-robin: the next request goes to the other host
        status, response_headers, data = call(port, "POST", "/api/tickets", body, keyed)
        if response_headers.get("X-Served-By") != first_host:
            retry = (status, response_headers, data)
            break
    rows = postgres.sql(f"SELECT count(*) FROM tickets WHERE title = '{title}'", hosts.DATABASE)
    result = {
        "first": [first_status, first_host],
        "retry": None,
        "tickets_with_title": rows[0][0],
    }
    if retry:
        status, response_headers, data = retry
        result["retry"] = [status, response_headers.get("X-Served-By")]
        result["replayed_header"] = response_headers.get("Idempotent-Replayed")
        result["same_body"] = data == first_body
        result["same_location"] = response_headers.get("Location") == first_headers.get("Location")
    return result


# --------------------------------------------------------------------------------------------
# A host killed under writes


class Writers:
    """Clients creating tickets with Idempotency-Keys, retrying each until acknowledged."""

    def __init__(self, port: int, headers: dict, clients: int, seconds: float) -> None:
        self.port, self.headers, self.clients, self.seconds = port, headers, clients, seconds
        self.attempts: list[tuple[float, str, str | None]] = []  # sent at, outcome, host
        self.acknowledged: list[str] = []
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
            title = f"kill-{number}-{sequence}-{uuid.uuid4().hex[:6]}"
            headers = {**self.headers, "Idempotency-Key": title}
            body = {"title": title, "description": "Written while a host dies."}
            while time.monotonic() < deadline + 30:
                sent_at = time.monotonic()
                try:
                    status, response_headers, _ = call(
                        self.port, "POST", "/api/tickets", body, headers, timeout=10
                    )
                    outcome, host = str(status), response_headers.get("X-Served-By")
                except (OSError, http.client.HTTPException) as error:
                    outcome, host = type(error).__name__, None
                with self.lock:
                    self.attempts.append((sent_at, outcome, host))
                if outcome == "201":
                    with self.lock:
                        self.acknowledged.append(title)
                    break
                time.sleep(0.1)


def scenario_host_killed(port, headers, args, network, haproxy, postgres) -> dict:
    writers = Writers(port, headers, args.clients, args.kill_seconds)
    runner = threading.Thread(target=writers.run)
    runner.start()
    time.sleep(args.kill_seconds / 3)
    killed = network.kill_all("a")
    killed_at = time.monotonic()
    marked_down_after = None
    while runner.is_alive() or marked_down_after is None:
        if marked_down_after is None and haproxy.server_states().get("a") == "DOWN":
            marked_down_after = time.monotonic() - killed_at
        if time.monotonic() - killed_at > 20:
            break
        time.sleep(0.05)
    runner.join()
    rows = postgres.sql(
        "SELECT title, count(*) FROM tickets WHERE title LIKE 'kill-%' GROUP BY title",
        hosts.DATABASE,
    )
    found = dict(rows)
    failed = sorted((at, outcome) for at, outcome, _ in writers.attempts if outcome != "201")
    acked = [(at, host) for at, outcome, host in writers.attempts if outcome == "201"]
    stats = haproxy.stats()
    backend, server_a = stats.get("BACKEND", {}), stats.get("a", {})
    return {
        "processes_killed": len(killed),
        "attempts": len(writers.attempts),
        "acknowledged": len(writers.acknowledged),
        "lost": sum(1 for title in writers.acknowledged if found.get(title, 0) == 0),
        "duplicates": sum(count - 1 for count in found.values() if count > 1),
        "failed_requests": len(failed),
        "failed_by_outcome": dict(Counter(outcome for _, outcome in failed)),
        "failed_window_s": round(failed[-1][0] - failed[0][0], 2) if failed else 0.0,
        "acknowledged_before_kill_on": sorted({h for at, h in acked if at < killed_at}),
        # By the time of sending: a request sent just before the kill may still be answered.
        "acknowledged_after_kill_on": sorted({h for at, h in acked if at > killed_at}),
        "a_marked_down_after_s": round(marked_down_after, 2) if marked_down_after else None,
        "haproxy_retries": int(backend.get("wretr") or 0),
        "haproxy_redispatches": int(backend.get("wredis") or 0),
        "haproxy_a_connect_errors": int(server_a.get("econ") or 0),
        "haproxy_a_response_errors": int(server_a.get("eresp") or 0),
    }


# --------------------------------------------------------------------------------------------


def run(args, workdir: str) -> int:
    started = time.monotonic()
    network, postgres = hosts.Network(), hosts.ScratchPostgres(workdir)
    redis_server, haproxy = hosts.new_redis(workdir), hosts.HAProxy(workdir)
    host_list: list[hosts.Host] = []
    failures: list[str] = []
    try:
        for program in ("haproxy", "redis-server"):
            if shutil.which(program) is None:
                raise SetupError(f"{program} is not installed (.ci/run installs it)")
        say("network: bridge 10.77.0.1/24, namespaces sd2h-a and sd2h-b")
        network.up()
        say(f"scratch PostgreSQL on {hosts.GATEWAY}:{postgres.port}, Redis on :{redis_server.port}")
        postgres.start()
        redis_server.start()
        database_url = postgres.url()
        cli_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        cli_env["DATABASE_URL"] = database_url
        flask_cli(cli_env, 300, "db", "upgrade")
        flask_cli(cli_env, 300, "seed")
        secret = hosts.jwt_secret()
        for name in hosts.HOSTS:
            env = hosts.host_env(
                database_url,
                redis_server.port,
                workdir,
                name,
                JWT_SECRET_KEY=secret,
                RATELIMIT_DEFAULT="1000000 per minute",
                RATELIMIT_LOGIN_PER_ACCOUNT=f"{LOGIN_LIMIT} per minute",
            )
            host_list.append(hosts.Host(network, name, env, workdir))
        for host in host_list:
            host.start()
        for host in host_list:
            host.wait_ready()
        haproxy.start()
        port = haproxy.port
        setup = time.monotonic() - started
        say(f"both hosts up behind HAProxy on 127.0.0.1:{port} (setup {setup:.1f} s)")
        headers = login(port, "agent@example.com", "agent123!")

        events = scenario_events(port, headers, args.events)
        print("events across hosts:", json.dumps(events), flush=True)
        if events["missing"] or len(events["cross_host"]) != 2:
            failures.append("events: an event missed a stream, or all POSTs landed on one host")
        if events["cross_p99_ms"] is None or events["cross_p99_ms"] > 1000:
            failures.append("events: cross-host p99 over 1 s")

        limits = scenario_rate_limit(port, redis_server.port)
        print("shared rate limit:  ", json.dumps(limits), flush=True)
        expected = [401] * LOGIN_LIMIT + [429] * 3
        # Counted in Redis, not in each worker's memory (Flask-Limiter falls back to memory
        # when its storage fails, which would also let more attempts through).
        if (
            limits["statuses"] != expected
            or len(limits["allowed_on"]) != 2
            or not limits["redis_keys"]
        ):
            failures.append("rate limit: not counted across both hosts")

        replay = scenario_idempotency(port, headers, postgres)
        print("idempotent retry:   ", json.dumps(replay), flush=True)
        if not (
            replay["retry"]
            and replay["first"][0] == replay["retry"][0] == 201
            and replay["replayed_header"] == "true"
            and replay["same_body"]
            and replay["same_location"]
            and replay["tickets_with_title"] == 1
        ):
            failures.append("idempotency: the retry on the other host did not replay")

        say("host a: SIGKILL to every process in its namespace, under writes")
        kill = scenario_host_killed(port, headers, args, network, haproxy, postgres)
        print("host a killed:      ", json.dumps(kill), flush=True)
        if kill["lost"] or kill["duplicates"] or not kill["acknowledged"]:
            failures.append("host kill: an acknowledged write was lost or duplicated")
        if (
            kill["acknowledged_before_kill_on"] != ["a", "b"]
            or kill["acknowledged_after_kill_on"] != ["b"]
            or kill["a_marked_down_after_s"] is None
        ):
            failures.append("host kill: host b did not take over alone")
    finally:
        haproxy.stop()
        for host in host_list:
            host.stop()
        network.down()
        redis_server.kill()
        postgres.stop()
    if failures:
        for path in [h.log_path for h in host_list] + [haproxy.log_path]:
            print(f"--- {os.path.basename(path)}\n{tail(path)}", file=sys.stderr)
    print(f"run time {time.monotonic() - started:.1f} s")
    print("FAILED: " + "; ".join(failures) if failures else "two-host checks passed")
    return 1 if failures else 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100, help="tickets for the event check")
    parser.add_argument("--kill-seconds", type=float, default=12, help="length of the writes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent writers")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the logs and haproxy.cfg here")
    return parser.parse_args(argv)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # runs the cleanup in `finally`


def main(argv=None) -> int:
    args = parse_args(argv)
    why_not = hosts.netns_possible()
    if why_not:
        print(f"two hosts: skipped, network namespaces are impossible here: {why_not}")
        return 0
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGHUP, _exit_on_sigterm)
    workdir = tempfile.mkdtemp(prefix="two-hosts-")
    os.chmod(workdir, 0o755)  # the postgres user reaches its data folder inside
    try:
        return run(args, workdir)
    except SetupError as error:
        print(f"setup failed: {error}", file=sys.stderr)
        for name in sorted(os.listdir(workdir)):
            if name.endswith(".log"):
                print(f"--- {name}\n{tail(os.path.join(workdir, name))}", file=sys.stderr)
        return 2
    finally:
        if args.keep_logs:
            os.makedirs(args.keep_logs, exist_ok=True)
            for name in os.listdir(workdir):
                if name.endswith((".log", ".cfg")):
                    shutil.copy(os.path.join(workdir, name), args.keep_logs)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
