"""Lists whose cost does not grow with the desk (issue 17): the same requests at two sizes.

One run on PostgreSQL: seeds `--sizes` tickets one size after the other (the bulk generator
adds to the desk), and at each size measures under wrk, against gunicorn as deployed:
the ticket list's first page, its 400th cursor page, `GET /api/tickets/count`, and a bare
psycopg2 + json.dumps endpoint serving the same 25 rows (bench/scale_bare.py: no auth, no
count), each `--rounds` times taking turns (so that a slow spell of a shared machine falls on
all of them), medians reported, then an export page, once and last. Prints a table, the
list / bare ratio round by round, and the goals: the list at the largest size keeps >= 0.8 of
its throughput at the smallest; the 400th cursor page costs <= 1.5x the first; the list reaches
>= 0.5x the bare endpoint. `/api/export/tickets` is measured when the app has it.

    .venv/bin/python bench/scale.py                               # 100,000 and 1,000,000
    .venv/bin/python bench/scale.py --sizes 20000,100000 --duration 3 --rounds 1   # quick
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import quote  # noqa: E402

from bench.http import (  # noqa: E402
    MANAGER,
    base_env,
    login,
    request,
    run_wrk,
    server_env,
    wait_ready,
)
from bench.pgdb import create_database, drop_database, vacuum_analyze  # noqa: E402
from bench.support import (  # noqa: E402
    HOST,
    SetupError,
    flask_cli,
    free_port,
    say,
    start_gunicorn,
    stop_gunicorn,
)

LIST = "/api/tickets?per_page=25"
CURSOR_DEPTH = 400
# After each wrk run: the requests it left in flight (a count over a million tickets takes
# half a second) finish before the next scenario starts.
SETTLE_SECONDS = 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="ticket counts, ascending")
    parser.add_argument("--duration", type=float, default=8, help="seconds per wrk run (8)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="wrk runs per scenario, taking turns (3)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (2)")
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--ceiling-pool-size", type=int, default=10)
    parser.add_argument("--db-name", default="servicedesk_bench_scale")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",")]
    return args


def seed_to(args, env: dict, have: int, size: int) -> float:
    """Add tickets until the desk holds `size`; seconds it took (VACUUM included)."""
    started = time.monotonic()
    flask_cli(env, 600 + size / 100, "seed", "--tickets", str(size - have), "--seed", str(size))
    vacuum_analyze(args)
    return time.monotonic() - started


def cursor_at(port: int, token: str, depth: int) -> str:
    """The cursor of the list's `depth`th page, following next_cursor from the first."""
    path = LIST
    for _ in range(depth - 1):
        status, body = request(port, "GET", path, token=token)
        if status != 200 or not body.get("next_cursor"):
            raise SetupError(f"walking the list's cursors: {status} {body}")
        path = f"{LIST}&cursor={quote(body['next_cursor'])}"
    return path


def summarise(runs: list[dict]) -> dict:
    return {
        "rps": statistics.median(run["rps"] for run in runs),
        "p50": statistics.median(run["p50_us"] for run in runs) / 1000,
        "bad": sum(run["non2xx"] + run["socket_errors"] for run in runs),
        "rounds": [run["rps"] for run in runs],
    }


def measure_size(args, ports: dict) -> dict:
    """The list, its 400th cursor page, the count and the bare endpoint `args.rounds` times,
    taking turns round after round, so that a slow spell of a shared machine falls on all of
    them rather than on one; then the export, last: its pages take seconds each, and the
    requests wrk leaves in flight would run into the next scenario."""
    token = login(ports["app"])
    export_token = login(ports["app"], MANAGER)
    status, _ = request(ports["app"], "GET", "/api/export/tickets", token=export_token)
    scenarios = {
        "list": (ports["app"], LIST, token),
        "cursor400": (ports["app"], cursor_at(ports["app"], token, CURSOR_DEPTH), token),
        "count": (ports["app"], "/api/tickets/count", token),
        "bare": (ports["bare"], "/tickets", "-"),
    }
    for port, path, user_token in scenarios.values():
        run_wrk(args, "get", f"http://{HOST}:{port}{path}", 2, [user_token])  # warm-up
    runs: dict[str, list[dict]] = {name: [] for name in scenarios}
    for round_number in range(1, args.rounds + 1):
        for name, (port, path, user_token) in scenarios.items():
            runs[name].append(
                run_wrk(args, "get", f"http://{HOST}:{port}{path}", args.duration, [user_token])
            )
            say_run(f"round {round_number} {name}", runs[name][-1])
            time.sleep(SETTLE_SECONDS)
    if status == 200:
        export_url = f"http://{HOST}:{ports['app']}/api/export/tickets"
        run_wrk(args, "get", export_url, 2, [export_token])
        runs["export"] = [run_wrk(args, "get", export_url, args.duration, [export_token])]
        say_run("export", runs["export"][0])
    else:
        say(f"GET /api/export/tickets answered {status}: export not measured")
    return {name: summarise(name_runs) for name, name_runs in runs.items()}


def say_run(label: str, run: dict) -> None:
    say(f"{label:18} {run['rps']:8.1f} req/s  p50 {run['p50_us'] / 1000:8.2f} ms")


def report(args, figures: dict, seeding: dict) -> bool:
    names = ["list", "cursor400", "count", "export", "bare"]
    print(f"\n{'tickets':>10} | " + " | ".join(f"{n:>20}" for n in names) + " | seeding")
    print("-" * 10 + "-+-" + "-+-".join("-" * 20 for _ in names) + "-+--------")
    for size, results in figures.items():
        cells = [
            f"{results[n]['rps']:7.1f}/s {results[n]['p50']:7.1f} ms" if n in results else "n/a"
            for n in names
        ]
        row = " | ".join(f"{cell:>20}" for cell in cells)
        print(f"{size:>10} | {row} | {seeding[size]:.0f} s")
    small, large = figures[args.sizes[0]], figures[args.sizes[-1]]
    goals = [
        ("list at largest / smallest >= 0.8", large["list"]["rps"] / small["list"]["rps"], 0.8),
        (
            "400th cursor page p50 / first page p50 <= 1.5 (largest)",
            large["cursor400"]["p50"] / large["list"]["p50"],
            1.5,
        ),
        ("list / bare >= 0.5 (largest)", large["list"]["rps"] / large["bare"]["rps"], 0.5),
    ]
    print("\n(req/s is wrk's median over the rounds, p50 its median latency)")
    for size, results in figures.items():
        pairs = zip(results["list"]["rounds"], results["bare"]["rounds"], strict=True)
        each = ", ".join(f"{list_rps / bare_rps:.2f}" for list_rps, bare_rps in pairs)
        print(f"list / bare at {size} tickets, round by round: {each}")
    for label, value, target in goals:
        met = value <= target if "<=" in label else value >= target
        print(f"{label}: {value:.2f} {'met' if met else 'MISSED'}")
    return all(results[n]["bad"] == 0 for results in figures.values() for n in results)


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (sudo apt-get install -y wrk)", file=sys.stderr)
        return 2
    log_dir = tempfile.mkdtemp(prefix="bench-scale-")
    env = base_env(args)
    figures, seeding, have, ok = {}, {}, 0, False
    try:
        create_database(args)
        flask_cli(env, 300, "db", "upgrade")
        for size in args.sizes:
            say(f"seeding to {size} tickets")
            seeding[size] = seed_to(args, env, have, size)
            have = size
            say(f"seeded {size} tickets in {seeding[size]:.0f} s")
            ports = {"app": free_port(), "bare": free_port()}
            processes: dict[str, subprocess.Popen] = {}
            try:
                for name, wsgi in (("app", "app:app"), ("bare", "bench.scale_bare:app")):
                    log = os.path.join(log_dir, f"{name}-{size}.log")
                    processes[name] = start_gunicorn(server_env(args, ports[name]), wsgi, log)
                for name, process in processes.items():
                    wait_ready(process, ports[name], args.workers, name)
                figures[size] = measure_size(args, ports)
            finally:
                for process in processes.values():
                    stop_gunicorn(process)
        ok = report(args, figures, seeding)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep_db:
            drop_database(args)
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
