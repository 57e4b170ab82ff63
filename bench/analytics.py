"""Analytics reports at scale: each endpoint against the same report as one hand-written query.

    .venv/bin/python bench/analytics.py [--tickets 1000000] [--repeat 7] [--keep-db]

What it does, in order, and what it undoes at the end:

1. (Re)creates the PostgreSQL database `servicedesk_bench_analytics` on postgres@127.0.0.1:5432
   (trust auth), runs `flask db upgrade` and `flask seed --tickets N --seed 1` against it, then
   `VACUUM (ANALYZE)`. `--reuse-db` takes the database left by an earlier `--keep-db` run as it
   is instead: `flask db upgrade` (which applies any new migration) and `VACUUM (ANALYZE)`.
2. Pins the service's clock (`app.clock.freeze`) to one moment, taken once after
   seeding, and passes that same moment to the hand-written queries as "now".
3. Builds the app in-process (`create_app("development")` on that database, Flask test client,
   a token minted for the sample admin) and, for each report, runs the endpoint and its
   hand-written query once unmeasured, then `--repeat` times each, alternately, and takes the
   median of each: the endpoint's time is the whole request (routing, JWT, argument parsing, the
   service's queries, marshmallow, JSON); the query's is `execute` + `fetchall` with psycopg2 on
   one autocommit connection.
4. Checks that each endpoint's numbers equal its query's (MATCH / DIFF) and prints a table:
   report, endpoint median, query median, their ratio and the 1.5x target, met or MISSED.
   `--explain` also prints EXPLAIN (ANALYZE, BUFFERS) of every statement the service ran.
5. Drops the database (unless `--keep-db`).

Exit status: 0 when every report matched its query (the 1.5x target is reported, not enforced),
1 when some report differed, 2 when the setup failed. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds http.py, which would shadow the standard library's http package.
sys.path[0] = ROOT

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import psycopg2  # noqa: E402

from bench.pgdb import create_database, database_url, drop_database, vacuum_analyze  # noqa: E402
from bench.support import HOST, SetupError, flask_cli, say  # noqa: E402

ADMIN_EMAIL = "admin@example.com"
TARGET_RATIO = 1.5

OPEN = "('open', 'in_progress', 'pending')"
# A Monday, midnight UTC: date_bin() periods from it are UTC days and ISO weeks.
MONDAY = datetime(2001, 1, 1, tzinfo=UTC)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets to seed (1000000)")
    parser.add_argument("--repeat", type=int, default=7, help="measured runs of each side (7)")
    parser.add_argument("--seed", type=int, default=1, help="flask seed --seed (1)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="use the database of an earlier --keep-db run: no seeding, only `flask db upgrade` "
        "and VACUUM (ANALYZE)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the app's SQL"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated substrings of report names to run"
    )
    parser.add_argument("--db-name", default="servicedesk_bench_analytics")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    args = parser.parse_args(argv)
    args.pg_host = HOST
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


# --------------------------------------------------------------------------------------------
# The database


def prepare_database(args) -> None:
    env = dict(os.environ, DATABASE_URL=database_url(args), LOG_LEVEL="WARNING")
    env.pop("FLASK_ENV", None)
    if args.reuse_db:
        say(f"database {args.db_name}: reused as it is; flask db upgrade")
        flask_cli(env, 1800, "db", "upgrade")
    else:
        say(f"database {args.db_name}: create, migrate, seed {args.tickets} tickets")
        create_database(args)
        flask_cli(env, 300, "db", "upgrade")
        flask_cli(env, 600 + args.tickets / 200, "seed", "--tickets", str(args.tickets),
                  "--seed", str(args.seed))  # fmt: skip
        say("seeded")
    say("VACUUM (ANALYZE)")
    vacuum_analyze(args)


def describe_database(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status IN " + OPEN + "), "
            "pg_size_pretty(pg_relation_size('tickets')), "
            "(SELECT round(100.0 * relallvisible / greatest(relpages, 1)) FROM pg_class "
            "WHERE oid = 'tickets'::regclass), "
            "(SELECT version_num FROM alembic_version), current_setting('server_version') "
            "FROM tickets"
        )
        total, open_, size, visible, revision, version = cursor.fetchone()
        cursor.execute(
            "SELECT indexname, pg_size_pretty(pg_relation_size(quote_ident(indexname)::regclass))"
            " FROM pg_indexes WHERE tablename = 'tickets' ORDER BY indexname"
        )
        indexes = ", ".join(f"{name} ({size_})" for name, size_ in cursor.fetchall())
    return (
        f"{total} tickets ({open_} open, in progress or pending), heap {size} "
        f"({visible}% all-visible); "
        f"PostgreSQL {version}, migration {revision}\nindexes on tickets: {indexes}"
    )


# --------------------------------------------------------------------------------------------
# The hand-written queries. Each is one statement with the semantics of app/services/analytics.py
# and app/services/sla.py, written for PostgreSQL: FILTER instead of CASE, breaches as one
# comparison each (`coalesce(first_response_at, now) > response_due_at` is "answered late, or
# not answered and past due"), sums of intervals instead of sums of numeric epochs, groups
# pre-aggregated on the ticket's own columns before agents are joined, volume counted per
# period on index ranges, and the report's own rounding and ordering.

SLA_COUNTS_SQL = """
    count(*) AS tickets,
    count(*) FILTER (WHERE first_response_at IS NOT NULL) AS responded,
    count(*) FILTER (WHERE first_response_at <= response_due_at) AS response_met,
    count(*) FILTER (WHERE coalesce(first_response_at, %(now)s) > response_due_at)
        AS response_breached,
    count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,
    count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS resolution_met,
    count(*) FILTER (WHERE coalesce(resolved_at, sla_paused_at, %(now)s) > resolution_due_at)
        AS resolution_breached,
    count(*) FILTER (WHERE status IN ('open', 'in_progress', 'pending')
        AND (coalesce(first_response_at, %(now)s) > response_due_at
             OR coalesce(resolved_at, sla_paused_at, %(now)s) > resolution_due_at))
        AS open_breached"""

SLA_NAMES = (
    "tickets", "responded", "response_met", "response_breached", "resolved", "resolution_met",
    "resolution_breached", "open_breached",
)  # fmt: skip


def _pct(met: str, breached: str) -> str:
    return f"round(100.0 * {met} / nullif({met} + {breached}, 0), 2)"


PRIORITY_ORDER = "array_position(ARRAY['low', 'medium', 'high', 'critical'], key)"
CATEGORY_ORDER = "array_position(ARRAY['hardware', 'software', 'network', 'access', 'other'], key)"
TEAM_JOIN = "LEFT JOIN agents a ON a.id = per.base"
# group_by -> (column of tickets to pre-aggregate on, key of the report, join, ORDER BY)
SLA_GROUPS = {
    "priority": ("priority", "base", "", PRIORITY_ORDER),
    "category": ("category", "base", "", CATEGORY_ORDER),
    "agent": ("assigned_agent_id", "base", "", "key NULLS LAST"),
    "team": ("assigned_agent_id", "a.team", TEAM_JOIN, "key NULLS LAST"),
}


def sla_sql(group_by: str) -> str:
    base, key, join, order = SLA_GROUPS[group_by]
    sums = ",\n    ".join(f"sum({name})::bigint AS {name}" for name in SLA_NAMES)
    return f"""
WITH per AS (
  SELECT {base} AS base, {SLA_COUNTS_SQL}
  FROM tickets
  WHERE created_at >= %(from)s AND created_at < %(to)s
  GROUP BY {base}
), grouped AS (
  SELECT {key} AS key, GROUPING({key}) = 1 AS is_total,
    {sums}
  FROM per {join}
  GROUP BY GROUPING SETS (({key}), ())
)
SELECT is_total, key, tickets, responded, response_met, response_breached,
  {_pct("response_met", "response_breached")} AS response_adherence_pct,
  resolved, resolution_met, resolution_breached,
  {_pct("resolution_met", "resolution_breached")} AS resolution_adherence_pct,
  open_breached
FROM grouped
ORDER BY is_total DESC, {order}"""


AGING_GROUPS = {
    "priority": ("priority", "base", ""),
    "team": ("assigned_agent_id", "a.team", TEAM_JOIN),
}


def aging_sql(group_by: str) -> str:
    base, key, join = AGING_GROUPS[group_by]
    return f"""
WITH per AS (
  SELECT {base} AS base,
    CASE WHEN created_at > %(day1)s THEN '0-1d' WHEN created_at > %(day3)s THEN '1-3d'
         WHEN created_at > %(day7)s THEN '3-7d' WHEN created_at > %(day30)s THEN '7-30d'
         ELSE '30d+' END AS bucket,
    count(*) AS n, sum(%(now)s - created_at) AS age
  FROM tickets
  WHERE status IN {OPEN}
  GROUP BY 1, 2
), grouped AS (
  SELECT {key} AS key, bucket, sum(n)::bigint AS n, sum(age) AS age
  FROM per {join}
  GROUP BY 1, 2
)
SELECT 'by' AS kind, key::text AS key, bucket, n AS value, NULL::numeric AS average, NULL AS title
FROM grouped
UNION ALL
SELECT 'total', NULL, NULL, sum(n)::bigint, round(extract(epoch FROM sum(age)) / sum(n), 2), NULL
FROM grouped
UNION ALL (
  SELECT 'oldest', t.id::text, t.status, floor(extract(epoch FROM %(now)s - t.created_at))::bigint,
    NULL, t.title || ' / ' || r.name || ' / ' || coalesce(u.name, '-')
  FROM tickets t JOIN users r ON r.id = t.requester_id
    LEFT JOIN agents a ON a.id = t.assigned_agent_id LEFT JOIN users u ON u.id = a.user_id
  WHERE t.status IN {OPEN}
  ORDER BY t.created_at, t.id
  LIMIT 5
)"""


# Each period is counted on its own range of the index (one correlated count per period), so
# nothing is computed per ticket. Periods are numbered with an integer generate_series, whose
# row count PostgreSQL estimates exactly (53 weeks, not 1000 rows), which keeps the plan's cost
# honest (no JIT compilation); steps are in hours, so that the session's time zone cannot move
# a boundary across a daylight saving change. The counts are MATERIALIZED: each is read twice.
VOLUME_SQL = """
WITH periods AS (
  SELECT p, greatest(p, %(from)s) AS low, least(p + %(step)s::interval, %(to)s) AS high
  FROM (
    SELECT date_bin(%(step)s::interval, %(from)s, %(origin)s) + i * %(step)s::interval AS p
    FROM generate_series(
      0,
      ceil(extract(epoch FROM %(to)s - date_bin(%(step)s::interval, %(from)s, %(origin)s))
           / extract(epoch FROM %(step)s::interval))::int - 1
    ) AS i
  ) AS numbered
), counts AS MATERIALIZED (
  SELECT p,
    (SELECT count(*) FROM tickets WHERE created_at >= low AND created_at < high) AS created,
    (SELECT count(*) FROM tickets WHERE resolved_at >= low AND resolved_at < high) AS resolved
  FROM periods
)
SELECT p, created, resolved,
  (SELECT count(*) FROM tickets WHERE resolved_at IS NULL AND created_at < %(from)s)
  + (SELECT count(*) FROM tickets WHERE resolved_at >= %(from)s AND created_at < %(from)s)
  + sum(created - resolved) OVER (ORDER BY p) AS backlog
FROM counts
ORDER BY p"""


PERFORMANCE_SQL = f"""
WITH windowed AS (
  SELECT assigned_agent_id AS agent_id, {SLA_COUNTS_SQL},
    extract(epoch FROM sum(first_response_at - created_at)) AS first_response_sum,
    extract(epoch FROM sum(resolved_at - created_at)) AS resolution_sum
  FROM tickets
  WHERE created_at >= %(from)s AND created_at < %(to)s AND assigned_agent_id IS NOT NULL
  GROUP BY assigned_agent_id
), open_now AS (
  SELECT assigned_agent_id AS agent_id, count(*) AS n
  FROM tickets
  WHERE status IN {OPEN} AND assigned_agent_id IS NOT NULL
  GROUP BY assigned_agent_id
)
SELECT a.id, u.name, a.team, coalesce(w.tickets, 0), coalesce(w.resolved, 0),
  coalesce(o.n, 0),
  round(w.first_response_sum / nullif(w.responded, 0), 2),
  round(w.resolution_sum / nullif(w.resolved, 0), 2),
  {_pct("w.response_met", "w.response_breached")},
  {_pct("w.resolution_met", "w.resolution_breached")},
  round(100.0 * coalesce(o.n, 0) / nullif(a.max_open_tickets, 0), 2)
FROM agents a
  JOIN users u ON u.id = a.user_id
  LEFT JOIN windowed w ON w.agent_id = a.id
  LEFT JOIN open_now o ON o.agent_id = a.id
WHERE a.is_active AND u.is_active
ORDER BY lower(u.name), a.id"""


# --------------------------------------------------------------------------------------------
# The numbers of each report, from the endpoint's JSON and from the query's rows, in one shape


def num(value):
    """Numbers as floats (JSON has no Decimal), ints as ints, None as None."""
    if value is None or isinstance(value, (int, str)):
        return value
    return float(value)


SLA_FIELDS = (
    "tickets", "responded", "response_met", "response_breached", "response_adherence_pct",
    "resolved", "resolution_met", "resolution_breached", "resolution_adherence_pct",
    "open_breached",
)  # fmt: skip


def sla_from_json(body: dict) -> list:
    rows = [("overall", *(num(body["overall"][n]) for n in SLA_FIELDS))]
    rows += [(group["key"], *(num(group[n]) for n in SLA_FIELDS)) for group in body["groups"]]
    return rows


def sla_from_rows(rows: list) -> list:
    return [("overall" if row[0] else row[1], *(num(v) for v in row[2:])) for row in rows]


def aging_from_json(body: dict) -> dict:
    return {
        "total_open": body["total_open"],
        "average_age_seconds": num(body["average_age_seconds"]),
        "buckets": [(b["bucket"], b["count"], sorted(b["by"].items())) for b in body["buckets"]],
        "oldest": [
            (
                t["id"],
                t["status"],
                t["age_seconds"],
                f"{t['title']} / {t['requester']['name']} / "
                + ((t.get("assigned_agent") or {}).get("name") or "-"),
            )
            for t in body["oldest"]
        ],
    }


def aging_from_rows(rows: list) -> dict:
    buckets = {name: {} for name in ("0-1d", "1-3d", "3-7d", "7-30d", "30d+")}
    result = {"total_open": 0, "average_age_seconds": None, "oldest": []}
    for kind, key, bucket, value, average, title in rows:
        if kind == "by":
            buckets[bucket]["none" if key is None else key] = value
        elif kind == "total":
            result["total_open"], result["average_age_seconds"] = value or 0, num(average)
        else:
            result["oldest"].append((int(key), bucket, value, title))
    result["buckets"] = [
        (name, sum(by.values()), sorted(by.items())) for name, by in buckets.items()
    ]
    return result


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def volume_from_json(body: dict) -> list:
    return [(p["period_start"], p["created"], p["resolved"], p["backlog"]) for p in body["series"]]


def volume_from_rows(rows: list) -> list:
    return [(iso(p), created, resolved, int(backlog)) for p, created, resolved, backlog in rows]


PERFORMANCE_FIELDS = (
    "agent_id", "name", "team", "assigned", "resolved", "open_now", "avg_first_response_seconds",
    "avg_resolution_seconds", "response_adherence_pct", "resolution_adherence_pct", "load_pct",
)  # fmt: skip


def performance_from_json(body: dict) -> list:
    return [tuple(num(agent[n]) for n in PERFORMANCE_FIELDS) for agent in body["agents"]]


def performance_from_rows(rows: list) -> list:
    return [tuple(num(v) for v in row) for row in rows]


def first_difference(left, right) -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in left.keys() | right.keys():
            if left.get(key) != right.get(key):
                return f"{key}: {first_difference(left.get(key), right.get(key))}"
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{len(left)} rows against {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return f"row {index}: endpoint {a!r} / query {b!r}"
    return f"endpoint {left!r} / query {right!r}"


# --------------------------------------------------------------------------------------------
# The reports


def reports(now: datetime) -> list[dict]:
    """name, endpoint path, query and its parameters, and how to read both sides."""
    window = {"now": now, "from": now - timedelta(days=30), "to": now}
    year = {"from": now - timedelta(days=365), "to": now}
    items = []
    for group_by in ("priority", "category", "team", "agent"):
        items.append(
            {
                "name": f"sla-adherence group_by={group_by}",
                "path": f"/api/tickets/analytics/sla-adherence?group_by={group_by}",
                "sql": sla_sql(group_by),
                "params": window,
                "from_json": sla_from_json,
                "from_rows": sla_from_rows,
            }
        )
    ages = {f"day{days}": now - timedelta(days=days) for days in (1, 3, 7, 30)}
    for group_by, query in (("priority", ""), ("team", "?group_by=team")):
        items.append(
            {
                "name": f"aging group_by={group_by}",
                "path": f"/api/tickets/analytics/aging{query}",
                "sql": aging_sql(group_by),
                "params": {"now": now, **ages},
                "from_json": aging_from_json,
                "from_rows": aging_from_rows,
            }
        )
    for name, interval, bounds, query in (
        ("volume day, 30 days", "day", window, ""),
        (
            "volume week, 365 days",
            "week",
            year,
            "?" + urlencode({"interval": "week", "from": iso(year["from"]), "to": iso(now)}),
        ),
    ):
        step = "24 hours" if interval == "day" else "168 hours"
        items.append(
            {
                "name": name,
                "path": f"/api/tickets/analytics/volume{query}",
                "sql": VOLUME_SQL,
                "params": {**bounds, "step": step, "origin": MONDAY},
                "from_json": volume_from_json,
                "from_rows": volume_from_rows,
            }
        )
    items.append(
        {
            "name": "agents/performance",
            "path": "/api/agents/performance",
            "sql": PERFORMANCE_SQL,
            "params": window,
            "from_json": performance_from_json,
            "from_rows": performance_from_rows,
        }
    )
    return items


def build_app(args, now: datetime):
    """The app in-process on the bench database, its clock pinned to `now`, and a token."""
    os.environ.update(
        {
            "DATABASE_URL": database_url(args),
            "RATELIMIT_DEFAULT": "100000000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("FLASK_ENV", None)
    from sqlalchemy import select

    from app import clock, create_app
    from app.auth.tokens import issue_tokens
    from app.extensions import db
    from app.models.user import User

    app = create_app("development")
    clock.freeze(now)

    def token() -> str:
        with app.app_context():
            admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
            if admin is None:
                raise SetupError(f"no user {ADMIN_EMAIL}: was the database seeded?")
            value = issue_tokens(admin)["access_token"]
            db.session.commit()  # the login session the token belongs to
            db.session.remove()
        return value

    return app, token


def capture_statements(app, client, headers: dict, path: str) -> list[str]:
    from sqlalchemy import event

    from app.extensions import db

    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(cursor.mogrify(statement, parameters).decode())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.status_code
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [s for s in statements if "tickets" in s]


def explain(connection, statement: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
        return "\n".join(row[0] for row in cursor.fetchall())


def run_report(args, report: dict, client, token: str, connection) -> dict:
    headers = {"Authorization": f"Bearer {token}"}

    def call_endpoint():
        started = time.perf_counter()
        response = client.get(report["path"], headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SetupError(f"{report['path']}: {response.status_code} {response.get_data()!r}")
        return elapsed, response.get_json()

    def call_query():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(report["sql"], report["params"])
            rows = cursor.fetchall()
            return time.perf_counter() - started, rows

    _, body = call_endpoint()  # warm-up, and the numbers to compare
    _, rows = call_query()
    endpoint_times, query_times = [], []
    for _ in range(args.repeat):
        endpoint_times.append(call_endpoint()[0])
        query_times.append(call_query()[0])
    ours, theirs = report["from_json"](body), report["from_rows"](rows)
    return {
        "endpoint_ms": statistics.median(endpoint_times) * 1000,
        "query_ms": statistics.median(query_times) * 1000,
        "endpoint_all": endpoint_times,
        "query_all": query_times,
        "match": ours == theirs,
        "difference": None if ours == theirs else first_difference(ours, theirs),
    }


def print_table(args, results: list[tuple[dict, dict]], now: datetime) -> None:
    print()
    print(
        f"{args.tickets if not args.reuse_db else 'existing'} tickets; now = {iso(now)}; median of "
        f"{args.repeat} runs after 1 warm-up; endpoint = Flask test client, query = psycopg2"
    )
    header = (
        f"{'report':32} {'endpoint ms':>11} {'hand SQL ms':>11} {'ratio':>6}  "
        f"{'target <=1.5x':13} {'numbers':7}"
    )
    print(header)
    print("-" * len(header))
    for report, result in results:
        ratio = result["endpoint_ms"] / result["query_ms"]
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{report['name']:32} {result['endpoint_ms']:11.1f} {result['query_ms']:11.1f} "
            f"{ratio:6.2f}  {verdict:13} {'MATCH' if result['match'] else 'DIFF'}"
        )
    for report, result in results:
        if not result["match"]:
            print(f"DIFF {report['name']}: {result['difference']}")


def main(argv=None) -> int:
    args = parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    ok = False
    try:
        prepare_database(args)
        now = datetime.now(UTC).replace(microsecond=0)
        app, token = build_app(args, now)
        client = app.test_client()
        connection = psycopg2.connect(database_url(args))
        connection.autocommit = True
        try:
            say(describe_database(connection))
            say(f"now pinned to {iso(now)} for the service and the hand-written queries")
            results = []
            for report in reports(now):
                if only and not any(s in report["name"] for s in only):
                    continue
                fresh = token()  # access tokens last 15 minutes: one per report
                if args.explain:
                    headers = {"Authorization": f"Bearer {fresh}"}
                    for statement in capture_statements(app, client, headers, report["path"]):
                        print(f"--- {report['name']}: the service's statement\n{statement}\n")
                        print(explain(connection, statement), "\n")
                    print(f"--- {report['name']}: the hand-written query")
                    with connection.cursor() as cursor:
                        sql = cursor.mogrify(report["sql"], report["params"]).decode()
                    print(explain(connection, sql), "\n")
                result = run_report(args, report, client, fresh, connection)
                say(
                    f"{report['name']:32} endpoint {result['endpoint_ms']:8.1f} ms  "
                    f"query {result['query_ms']:8.1f} ms  "
                    f"{'MATCH' if result['match'] else 'DIFF'}"
                )
                results.append((report, result))
        finally:
            connection.close()
        print_table(args, results, now)
        ok = all(result["match"] for _, result in results)
    except (SetupError, psycopg2.Error) as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep_db:
            say(f"database {args.db_name} kept")
        else:
            drop_database(args)  # WITH (FORCE) also ends the app's pooled connections
            say(f"database {args.db_name} dropped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
