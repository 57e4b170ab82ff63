"""HTTP throughput of the REST API under wrk, against a bare psycopg2 + json.dumps ceiling.

    .venv/bin/python bench/http.py [--tickets 100000] [--duration 10] [--rounds 3]

What it does, in order, and what it undoes at the end:

1. (Re)creates the PostgreSQL database `servicedesk_bench_http` on postgres@127.0.0.1:5432
   (trust auth), runs `flask db upgrade` and `flask seed --tickets N --seed 1` against it, then
   `VACUUM (ANALYZE)` so that autovacuum does not start in the middle of a scenario and the
   visibility map is set, as on a settled production database (`--no-vacuum` skips it).
2. Once both servers run, checks that bench/http_ceiling.py answers the app's list page,
   field for field (the app reads its page otherwise: dump keys, then only the tickets it
   has not dumped yet; see app/services/ticket_dumps.py).
3. Starts the app, `gunicorn -c gunicorn.conf.py app:app`, and the ceiling,
   `gunicorn -c gunicorn.conf.py bench.http_ceiling:app`, each on a free port of 127.0.0.1 with
   the same settings (worker class, WEB_CONCURRENCY workers, keep-alive, logging); the app with
   its rate limits raised out of the way.
4. Logs in as the sample agent, picks a ticket with messages (get, timeline) and open tickets
   to post messages on, then runs wrk (`--threads` threads, `--connections` connections,
   `--duration` seconds, after a `--warmup` in the first round) per scenario: list, ceiling,
   get, timeline, then create ticket and post message; `--rounds` times, the scenarios that
   read taking turns first, the ones that write after them.
5. Prints the median requests/s and p50/p99 latency and wrk's non-2xx count per scenario, and
   the list endpoint's median requests/s as a percentage of the ceiling's (with each round's
   ratio); stops both servers (SIGTERM) and drops the database.

Exit status: 0 when every scenario answered only 2xx (the 50% target is reported, not
enforced), 1 otherwise, 2 when the setup failed (wrk missing, seeding, a server that did not
start). Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import os
import sys

# This file is called http.py: with bench/ first on sys.path, `import http.client` (urllib,
# psycopg2's extras, ...) would import it instead of the standard library's package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import psycopg2  # noqa: E402

ROOT = os.path.dirname(_HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.pgdb import (  # noqa: E402
    create_database,
    database_url,
    drop_database,
    vacuum_analyze,
)
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

WRK_SCRIPT = os.path.join(_HERE, "wrk", "api.lua")
AGENT = ("agent@example.com", "agent123!")
MANAGER = ("manager@example.com", "manager123!")  # the export is for managers and admins
LIST_QUERY = "per_page=25&status=open,in_progress&sort=-priority"
LIST_PATH = f"/api/tickets?{LIST_QUERY}"
CEILING_PATH = "/tickets?per_page=25&status=open,in_progress"
MESSAGE_TARGETS = 64
TARGET_RATIO = 50.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to seed (100000)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario (10)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first (2)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times each scenario runs, the scenarios taking turns; medians reported (3)",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--workers", type=int, default=2, help="WEB_CONCURRENCY for both servers (2)"
    )
    parser.add_argument(
        "--worker-class", default="gevent", help="GUNICORN_WORKER_CLASS for both (gevent)"
    )
    parser.add_argument(
        "--log-level", default="info", help="LOG_LEVEL of both servers (info, as deployed)"
    )
    parser.add_argument("--ceiling-pool-size", type=int, default=10, help="per worker (10)")
    parser.add_argument(
        "--scenarios",
        default="list,ceiling,get,create,message,timeline",
        help="comma-separated subset, run in this order",
    )
    parser.add_argument("--seed", type=int, default=1, help="flask seed --seed (1)")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE) after seeding"
    )
    parser.add_argument("--db-name", default="servicedesk_bench_http")
    parser.add_argument("--pg-host", default=HOST)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--keep-log", action="store_true", help="keep the servers' log files")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.pg_host not in (HOST, "localhost"):
        parser.error("this benchmark only talks to 127.0.0.1")
    return args


# --------------------------------------------------------------------------------------------
# Database and servers


def base_env(args) -> dict:
    env = dict(os.environ)
    env.pop("FLASK_ENV", None)  # development config: the default JWT secret is accepted
    env.update(
        {
            "DATABASE_URL": database_url(args),
            "RATELIMIT_DEFAULT": "100000000 per minute",
            "RATELIMIT_LOGIN": "100000000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOG_LEVEL": args.log_level,
        }
    )
    return env


def server_env(args, port: int) -> dict:
    env = base_env(args)
    env.update(
        {
            "BIND": f"{HOST}:{port}",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_WORKER_CLASS": args.worker_class,
            "CEILING_POOL_SIZE": str(args.ceiling_pool_size),
        }
    )
    return env


def request(port: int, method: str, path: str, payload=None, token=None, timeout=30.0):
    """One request on its own connection; (status, parsed JSON body or None)."""
    headers = {"Accept": "application/json"}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, None


def wait_ready(process: subprocess.Popen, port: int, workers: int, name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SetupError(f"{name} (gunicorn) exited with {process.returncode}")
        try:
            status, _ = request(port, "GET", "/health", timeout=2)
            if status == 200 and len(worker_pids(process.pid)) >= workers:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SetupError(f"{name} did not answer /health within 60 s")
        time.sleep(0.2)


def log_problems(log_path: str) -> list[str]:
    """Lines of a server log that look like trouble (tracebacks, errors, worker restarts)."""
    pattern = re.compile(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Worker .*exited")
    try:
        with open(log_path, errors="replace") as log:
            return [line.rstrip() for line in log if pattern.search(line)]
    except OSError:
        return []


def check_same_answer(ports: dict) -> None:
    """The ceiling must do the app's work: the same page, item for item and field for field.

    The SLA fields follow the clock, so a second try is allowed for a ticket that crossed a
    boundary between the two requests.
    """
    token = login(ports["app"])
    for _ in range(2):
        app_status, app_page = request(ports["app"], "GET", LIST_PATH, token=token)
        ceiling_status, ceiling_page = request(ports["ceiling"], "GET", CEILING_PATH)
        if app_status == ceiling_status == 200:
            app_page.pop("next_cursor", None)  # the app signs its cursors; the ceiling has none
            if app_page == ceiling_page:
                return
    raise SetupError(
        f"the ceiling's page differs from the app's (statuses {app_status}, {ceiling_status}); "
        f"first items:\n  app     {(app_page or {}).get('items', [None])[:1]}"
        f"\n  ceiling {(ceiling_page or {}).get('items', [None])[:1]}"
    )


# --------------------------------------------------------------------------------------------
# Scenarios


def login(port: int, user: tuple[str, str] = AGENT) -> str:
    status, body = request(port, "POST", "/api/auth/login", {"email": user[0], "password": user[1]})
    if status != 200 or not body or "access_token" not in body:
        raise SetupError(f"login as {user[0]} failed: {status} {body}")
    return body["access_token"]


def pick_ids(args) -> tuple[int, list[int]]:
    """A finished ticket with the most messages (get, timeline; nobody posts on it), and open
    tickets to post messages on."""
    connection = psycopg2.connect(database_url(args))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM tickets WHERE status IN ('resolved', 'closed') "
                "AND message_count > 0 ORDER BY message_count DESC, id LIMIT 1"
            )
            row = cursor.fetchone()
            cursor.execute(
                "SELECT id FROM tickets WHERE status IN ('open', 'in_progress', 'pending') "
                "ORDER BY id DESC LIMIT %s",
                (MESSAGE_TARGETS,),
            )
            targets = [r[0] for r in cursor.fetchall()]
    finally:
        connection.close()
    if row is None or not targets:
        raise SetupError("the seeded desk has no ticket with messages or no open ticket")
    return row[0], targets


# name -> (server, WRK_MODE, path, description)
SCENARIOS = {
    "list": ("app", "get", LIST_PATH, f"GET {LIST_PATH}"),
    "ceiling": ("ceiling", "get", CEILING_PATH, "the same page, psycopg2 + json.dumps, no Flask"),
    "get": ("app", "get", "/api/tickets/{ticket}", "GET /api/tickets/{ticket}"),
    "create": ("app", "create_ticket", "/api/tickets", "POST /api/tickets"),
    "message": ("app", "post_message", "/api/messages", "POST /api/messages (64 open tickets)"),
    "timeline": (
        "app",
        "get",
        "/api/messages/ticket/{ticket}/timeline?per_page=25",
        "GET /api/messages/ticket/{ticket}/timeline?per_page=25",
    ),
}
RESULT_LINE = re.compile(r"^WRK_RESULT (.*)$", re.MULTILINE)


def run_wrk(args, mode: str, url: str, duration: float, extra: list[str]) -> dict:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        WRK_SCRIPT,
        url,
        "--",
        *extra,
    ]
    env = {**os.environ, "WRK_MODE": mode}
    try:
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=duration + 60
        )
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"wrk did not finish within {duration + 60:.0f} s") from exc
    match = RESULT_LINE.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise SetupError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    figures = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["socket_errors"] = sum(figures[k] for k in ("connect", "read", "write", "timeout"))
    return figures


def run_scenarios(args, ports: dict, ticket_id: int, targets: list[int]) -> dict:
    """Each scenario `args.rounds` times, taking turns, so that a slow spell of a shared
    machine falls on every scenario rather than on one; {name: [figures per round]}.

    The reading scenarios go first, all their rounds on the freshly vacuumed database; the
    writing ones (new tickets, messages) follow, so that list and ceiling see the same data.
    """
    results: dict[str, list[dict]] = {name: [] for name in args.scenarios}
    reads = [name for name in args.scenarios if SCENARIOS[name][1] == "get"]
    writes = [name for name in args.scenarios if name not in reads]
    for group, round_number in [(g, r) for g in (reads, writes) for r in range(1, args.rounds + 1)]:
        for name in group:
            server, mode, path, _ = SCENARIOS[name]
            token = login(ports["app"]) if server == "app" else "-"  # fresh: tokens last 15 min
            extra = [token]
            if mode == "post_message":
                extra.append(",".join(str(t) for t in targets))
            url = f"http://{HOST}:{ports[server]}{path.format(ticket=ticket_id)}"
            if args.warmup > 0 and round_number == 1:
                run_wrk(args, mode, url, args.warmup, extra)
            figures = run_wrk(args, mode, url, args.duration, extra)
            results[name].append(figures)
            say(
                f"round {round_number} {name:9} {figures['rps']:9.1f} req/s  "
                f"p50 {figures['p50_us'] / 1000:7.2f} ms  p99 {figures['p99_us'] / 1000:7.2f} ms  "
                f"non-2xx {figures['non2xx']}  socket errors {figures['socket_errors']}"
            )
    return results


def summarise(rounds: list[dict]) -> dict:
    """Medians of the rounds' rates and latencies; error counts added up."""
    return {
        "rps": statistics.median(r["rps"] for r in rounds),
        "p50_us": statistics.median(r["p50_us"] for r in rounds),
        "p99_us": statistics.median(r["p99_us"] for r in rounds),
        "non2xx": sum(r["non2xx"] for r in rounds),
        "socket_errors": sum(r["socket_errors"] for r in rounds),
    }


def print_report(args, rounds: dict, ticket_id: int) -> bool:
    results = {name: summarise(figures) for name, figures in rounds.items()}
    print()
    print(
        f"{args.tickets} tickets; gunicorn {args.worker_class} x {args.workers} workers "
        f"(both servers); wrk {args.threads} threads, {args.connections} connections, "
        f"{args.duration:g} s per scenario after {args.warmup:g} s warm-up, {args.rounds} "
        f"round(s) taking turns, medians; ticket {ticket_id} for get/timeline"
    )
    header = (
        f"{'scenario':10} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
        f"{'sock err':>8}  request"
    )
    print(header)
    print("-" * len(header))
    ok = True
    order = [n for n in ("list", "get", "create", "message", "timeline", "ceiling") if n in results]
    for name in order:
        figures = results[name]
        ok = ok and figures["non2xx"] == 0 and figures["socket_errors"] == 0
        description = SCENARIOS[name][3].format(ticket=ticket_id)
        print(
            f"{name:10} {figures['rps']:11.1f} {figures['p50_us'] / 1000:8.2f} "
            f"{figures['p99_us'] / 1000:8.2f} {figures['non2xx']:8d} "
            f"{figures['socket_errors']:8d}  {description}"
        )
    if "list" in results and "ceiling" in results:
        ratio = 100 * results["list"]["rps"] / results["ceiling"]["rps"]
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        pairs = zip(rounds["list"], rounds["ceiling"], strict=True)
        each = ", ".join(f"{100 * a['rps'] / b['rps']:.1f}%" for a, b in pairs)
        print(
            f"\nlist / ceiling: {ratio:.1f}% of the ceiling's requests/s, medians "
            f"(rounds: {each}; target >= {TARGET_RATIO:.0f}%: {verdict})"
        )
    if not ok:
        print("FAILED: some scenario had non-2xx responses or socket errors")
    return ok


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk "
            "(see bench/README.md).",
            file=sys.stderr,
        )
        return 2
    log_dir = tempfile.mkdtemp(prefix="bench-http-")
    logs = {name: os.path.join(log_dir, f"{name}.log") for name in ("app", "ceiling")}
    ports = {"app": free_port(), "ceiling": free_port()}
    processes: dict[str, subprocess.Popen] = {}
    previous_sigterm = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    try:
        say(f"database {args.db_name}: create, migrate, seed {args.tickets} tickets")
        create_database(args)
        env = base_env(args)
        flask_cli(env, 300, "db", "upgrade")
        flask_cli(env, 300 + args.tickets / 100, "seed", "--tickets", str(args.tickets),
                  "--seed", str(args.seed))  # fmt: skip
        if not args.no_vacuum:
            say("seeded; VACUUM (ANALYZE)")
            vacuum_analyze(args)
        for name, wsgi_app in (("app", "app:app"), ("ceiling", "bench.http_ceiling:app")):
            say(f"{name}: gunicorn {wsgi_app} on {HOST}:{ports[name]} (log: {logs[name]})")
            processes[name] = start_gunicorn(server_env(args, ports[name]), wsgi_app, logs[name])
        for name, process in processes.items():
            wait_ready(process, ports[name], args.workers, name)
        check_same_answer(ports)
        say("ceiling's page = the app's page, field for field")
        ticket_id, targets = pick_ids(args)
        say(f"running {', '.join(args.scenarios)}")
        results = run_scenarios(args, ports, ticket_id, targets)
        ok = print_report(args, results, ticket_id)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for name, process in processes.items():
            stop_gunicorn(process)
            say(f"{name} stopped ({process.returncode})")
        for name, path in logs.items():
            problems = log_problems(path)
            if problems:
                print(f"{name} log: {len(problems)} problem lines, first: {problems[0]}")
        drop_database(args)
        say(f"database {args.db_name} dropped")
        if args.keep_log:
            say(f"logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous_sigterm)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
