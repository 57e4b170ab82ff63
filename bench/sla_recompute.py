"""Part 2 of bench/sla.py (`--recompute`): the worker's replay of every open ticket after a
change of the default SLA policy, on PostgreSQL. Its steps are in bench/sla.py's docstring.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date

import psycopg2

from bench.pgdb import create_database, database_url, drop_database, vacuum_analyze
from bench.support import HOST, SetupError, flask_cli, say

RECOMPUTE_TARGET_S = 60.0
ADMIN_EMAIL = "admin@example.com"
CALENDAR_NAME = "bench: Bavarian desk"
OPEN = "('open', 'in_progress', 'pending')"
INSTANTS = ("response_due_at", "response_at_risk_at", "resolution_due_at", "resolution_at_risk_at")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("--recompute (PostgreSQL)")
    add = group.add_argument
    add("--tickets", type=int, default=330_000, help="tickets to seed, ~30%% open (330000)")
    add("--sample", type=int, default=1000, help="open tickets checked by this script (1000)")
    add("--keep-db", action="store_true", help="do not drop the database")
    add("--reuse-db", action="store_true", help="the database of a --keep-db run: no seeding")
    add("--profile", type=int, default=0, metavar="N", help="a round under cProfile: top N")
    group.add_argument("--db-name", default="servicedesk_bench_sla")
    group.add_argument("--pg-port", type=int, default=5432)
    group.add_argument("--pg-user", default="postgres")


def desk_calendar_fields() -> dict:
    """The calendar of part 1 (bench/sla.py `desk_calendar`), as the API takes it."""
    office_hours = [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]
    days_off = [date(year, 12, day) for year in (2025, 2026, 2027) for day in (24, 31)]
    days_off += [date(2025, 8, 14), date(2026, 8, 14), date(2027, 8, 16)]
    return {
        "name": CALENDAR_NAME,
        "time_zone": "Europe/Berlin",
        "working_hours": {day: office_hours for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": [{"date": day, "name": "bench day off"} for day in days_off],
        "holiday_country": "DE",
        "holiday_subdivision": "BY",
    }


# --------------------------------------------------------------------------------------------
# The database


def prepare_database(args) -> float:
    """Create, migrate and seed the database (or take a kept one); the seconds seeding took."""
    env = dict(os.environ, DATABASE_URL=database_url(args), LOG_LEVEL="WARNING")
    env.pop("FLASK_ENV", None)
    seeded = 0.0
    if args.reuse_db:
        say(f"database {args.db_name}: reused as it is; flask db upgrade")
        flask_cli(env, 600, "db", "upgrade")
    else:
        say(f"database {args.db_name}: create, migrate, seed {args.tickets} tickets")
        create_database(args)
        flask_cli(env, 300, "db", "upgrade")
        began = time.perf_counter()
        flask_cli(env, 600 + args.tickets / 200, "seed", "--tickets", str(args.tickets))
        seeded = time.perf_counter() - began
        say(f"seeded in {seeded:.1f} s")
    say("VACUUM (ANALYZE)")
    vacuum_analyze(args)
    return seeded


def describe(cursor) -> dict:
    cursor.execute(
        f"SELECT count(*), count(*) FILTER (WHERE status IN {OPEN}), "
        "count(*) FILTER (WHERE status = 'pending'), "
        f"(SELECT count(*) FROM ticket_activities a JOIN tickets t ON t.id = a.ticket_id "
        f" WHERE t.status IN {OPEN} AND a.field = 'status' "
        "  AND 'pending' IN (a.old_value, a.new_value)) FROM tickets"
    )
    names = ("tickets", "open", "pending", "pause_changes")
    return dict(zip(names, cursor.fetchone(), strict=True))


def build_app(args, queue_dir: str):
    """The app in-process on the bench database; every rule change goes to the worker, whose
    queue is a throwaway SQLite file (the bench runs the task itself)."""
    os.environ.update(
        {
            "DATABASE_URL": database_url(args),
            "SLA_RECOMPUTE_INLINE_MAX": "0",
            "QUEUE_URL": "sqlite:///" + os.path.join(queue_dir, "queue.db"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("FLASK_ENV", None)
    from app import create_app

    return create_app("development")


# --------------------------------------------------------------------------------------------
# One round: change the default policy, run the worker's task, check in SQL


def change_policy(number: int, calendar_id: int) -> str:
    """Give the default policy the bench calendar and shift every target (up on odd rounds,
    down on even ones, so that each round moves every due time of every open ticket)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.user import User
    from app.services import sla_policies, ticket_sla

    admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
    if admin is None:
        raise SetupError(f"no user {ADMIN_EMAIL}: was the database seeded?")
    policy = ticket_sla.default_policy()
    sign = 1 if number % 2 else -1
    targets = {
        priority: {
            "response_minutes": target["response_minutes"] + sign * 5,
            "resolution_minutes": target["resolution_minutes"] + sign * 60,
        }
        for priority, target in policy.targets.items()
    }
    data = {"targets": targets}
    what = "targets " + ("+5/+60 min" if sign > 0 else "-5/-60 min")
    if policy.calendar_id != calendar_id:
        data["calendar_id"] = calendar_id
        what = f"calendar {CALENDAR_NAME!r}, " + what
    sla_policies.update_policy(admin, policy, data)
    db.session.commit()
    return what


def ensure_calendar() -> int:
    from sqlalchemy import select

    from app.extensions import db
    from app.models.sla import SlaCalendar
    from app.services import sla_calendars

    found = db.session.scalar(select(SlaCalendar.id).where(SlaCalendar.name == CALENDAR_NAME))
    if found is None:
        found = sla_calendars.create_calendar(desk_calendar_fields()).id
        db.session.commit()
    return found


def snapshot(cursor) -> tuple[int, int]:
    """The open tickets' version and instants before the round; the last event and activity."""
    cursor.execute("DROP TABLE IF EXISTS bench_before")
    cursor.execute(
        f"CREATE UNLOGGED TABLE bench_before AS SELECT id, version, {', '.join(INSTANTS)} "
        f"FROM tickets WHERE status IN {OPEN}"
    )
    cursor.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM events), "
        "(SELECT coalesce(max(id), 0) FROM ticket_activities)"
    )
    return cursor.fetchone()


def check_round(cursor, last_event: int, last_activity: int) -> dict:
    """What the round did, from the database alone."""
    same = " AND ".join(f"t.{name} = b.{name}" for name in INSTANTS)
    cursor.execute(
        f"SELECT count(*), count(*) FILTER (WHERE t.version = b.version + 1), "
        f"count(*) FILTER (WHERE {same}) "
        "FROM bench_before b JOIN tickets t ON t.id = b.id"
    )
    open_, bumped, unchanged = cursor.fetchone()
    cursor.execute(
        "SELECT count(*) FILTER (WHERE e.type = 'ticket.updated'), "
        f"count(*) FILTER (WHERE e.type = 'ticket.updated' AND t.status NOT IN {OPEN}), "
        "count(DISTINCT e.ticket_id) FILTER (WHERE e.type = 'ticket.updated'), count(*) "
        "FROM events e LEFT JOIN tickets t ON t.id = e.ticket_id WHERE e.id > %s",
        (last_event,),
    )
    updated, updated_done, updated_tickets, events = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM ticket_activities WHERE id > %s", (last_activity,))
    (activities,) = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM sla_recomputes WHERE done_at IS NULL")
    (waiting,) = cursor.fetchone()
    cursor.execute("DROP TABLE bench_before")
    ok = (
        bumped == open_ == updated == updated_tickets
        and not unchanged
        and not updated_done
        and not waiting
    )
    return {
        "open": open_,
        "bumped": bumped,
        "unchanged": unchanged,
        "updated": updated,
        "updated_done": updated_done,
        "events": events,
        "activities": activities,
        "waiting": waiting,
        "ok": ok,
    }


def backend_cpu(cursor, db_name: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends of the bench database (from /proc:
    the server runs on this machine)."""
    cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (db_name,))
    total = 0
    for (pid,) in cursor.fetchall():
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def run_round(app, connection, number: int, calendar_id: int, profiler=None) -> dict:
    from app.extensions import db
    from app.tasks.sla import recompute_sla

    with connection.cursor() as cursor:
        last_event, last_activity = snapshot(cursor)
    with app.app_context():
        what = change_policy(number, calendar_id)
        with connection.cursor() as cursor:
            server_began = backend_cpu(cursor, connection.info.dbname)
        cpu_began = time.process_time()
        began = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        recompute_sla.call_local()
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
        db.session.remove()
    with connection.cursor() as cursor:
        server_cpu = backend_cpu(cursor, connection.info.dbname) - server_began
        result = check_round(cursor, last_event, last_activity)
    result.update(number=number, what=what, seconds=seconds, cpu=cpu, server_cpu=server_cpu)
    say(
        f"round {number} ({what}): {result['open']} open tickets replayed in {seconds:.1f} s "
        f"({result['open'] / seconds:,.0f}/s; CPU {cpu:.1f} s here, {server_cpu:.1f} s in "
        f"PostgreSQL); {result['updated']} ticket.updated events, "
        f"{result['unchanged']} unchanged, {result['bumped']} versions bumped: "
        + ("ok" if result["ok"] else "WRONG")
    )
    return result


# --------------------------------------------------------------------------------------------
# Afterwards: a sample of open tickets replayed by this script from the audit trail


def sample_check(app, connection, size: int) -> tuple[int, list[str]]:
    """Replay `size` open tickets here, from `created_at`, the policy's targets and the pauses
    their status changes recorded (not through app/services/ticket_sla.py), and compare every
    stored instant and the paused seconds. Returns (checked, differences)."""
    from app.extensions import db
    from app.services import sla, ticket_sla

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, created_at, priority, status, sla_paused_at, sla_paused_seconds, "
            f"sla_policy_id, {', '.join(INSTANTS)} FROM tickets WHERE status IN {OPEN} "
            "ORDER BY md5(id::text) LIMIT %s",
            (size,),
        )
        tickets = cursor.fetchall()
        cursor.execute(
            "SELECT ticket_id, old_value, new_value, created_at FROM ticket_activities "
            "WHERE ticket_id = ANY(%s) AND field = 'status' "
            "AND 'pending' IN (old_value, new_value) ORDER BY ticket_id, id",
            ([row[0] for row in tickets],),
        )
        changes = defaultdict(list)
        for ticket_id, old, new, at in cursor.fetchall():
            changes[ticket_id].append((old, new, at.astimezone(UTC)))
    with app.app_context():
        policy = ticket_sla.default_policy()
        calendar = sla.calendar_of(policy.calendar)
        policy_id, targets = policy.id, policy.targets
        db.session.remove()
    wrong = []
    for ticket_id, created_at, priority, status, paused_at, paused_seconds, on, *stored in tickets:
        created_at = created_at.astimezone(UTC)
        # A ticket created as pending has no status change into its first pause.
        paused, began = 0, created_at
        for old, new, at in changes[ticket_id]:
            if old == "pending":
                paused += sla.business_seconds_between(calendar, began, at)
            if new == "pending":
                began = at
        target = targets[priority]
        expected = sla.clock_instants(
            calendar,
            created_at,
            target["response_minutes"],
            target["resolution_minutes"],
            paused,
        )
        got = tuple(value.astimezone(UTC) for value in stored)
        if (on, paused_seconds, got) != (policy_id, paused, tuple(expected)):
            wrong.append(
                f"ticket {ticket_id}: policy {on}, paused {paused_seconds} s, {got} "
                f"!= policy {policy_id}, paused {paused} s, {tuple(expected)}"
            )
        if status == "pending" and (paused_at is None or paused_at.astimezone(UTC) != began):
            wrong.append(f"ticket {ticket_id}: pending since {began}, sla_paused_at {paused_at}")
    return len(tickets), wrong


# --------------------------------------------------------------------------------------------


def print_report(args, desk: dict, seeded: float, results: list[dict], sample) -> None:
    seconds = [result["seconds"] for result in results]
    median = statistics.median(seconds)
    open_ = results[0]["open"]
    checked, wrong = sample
    print(
        f"\nrecompute of the open tickets after a change of the default policy, PostgreSQL "
        f"({desk['tickets']:,} tickets: {desk['open']:,} open, in progress or pending, "
        f"{desk['pending']:,} pending; {desk['pause_changes']:,} status changes into or out of "
        "pending on open tickets)"
    )
    if seeded:
        print(f"  {'seeding (flask seed)':30} {seeded:.1f} s")
    rows = [
        ("tickets replayed a round", f"{open_:,}"),
        (f"median of {len(seconds)} rounds", f"{median:.1f} s, {open_ / median:,.0f} tickets/s"),
        ("rounds", ", ".join(f"{value:.1f} s" for value in seconds)),
        (
            "CPU a round (median)",
            f"{statistics.median(r['cpu'] for r in results):.1f} s in this process, "
            f"{statistics.median(r['server_cpu'] for r in results):.1f} s in PostgreSQL",
        ),
        (
            f"target < {RECOMPUTE_TARGET_S:.0f} s",
            "met" if median < RECOMPUTE_TARGET_S else "MISSED",
        ),
        (
            "each round (SQL)",
            "every open ticket changed, version +1, one ticket.updated each"
            if all(result["ok"] for result in results)
            else "WRONG: " + "; ".join(str(r) for r in results if not r["ok"]),
        ),
        (
            f"sample replayed here ({checked})",
            "all equal" if not wrong else f"{len(wrong)} DIFFER, e.g. {wrong[0]}",
        ),
    ]
    for label, value in rows:
        print(f"  {label:30} {value}")


def print_profile(profiler, count: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(count)
    stats.sort_stats("cumulative").print_stats(count)
    print(out.getvalue())


def bench_recompute(args) -> int:
    """Exit status: 0 when every round and the sample checked out, 1 when not, 2 on setup."""
    results, ok = [], False
    try:
        seeded = prepare_database(args)
        with tempfile.TemporaryDirectory(prefix="bench-sla-") as queue_dir:
            app = build_app(args, queue_dir)
            connection = psycopg2.connect(database_url(args))
            connection.autocommit = True
            try:
                with connection.cursor() as cursor:
                    desk = describe(cursor)
                say(f"{desk['open']:,} open tickets of {desk['tickets']:,}")
                with app.app_context():
                    calendar_id = ensure_calendar()
                for number in range(1, args.rounds + 1):
                    results.append(run_round(app, connection, number, calendar_id))
                sample = sample_check(app, connection, args.sample)
                if args.profile:
                    profiler = cProfile.Profile()
                    run_round(app, connection, args.rounds + 1, calendar_id, profiler)
            finally:
                connection.close()
        print_report(args, desk, seeded, results, sample)
        if args.profile:
            print(f"\none more round under cProfile, its {args.profile} costliest functions:")
            print_profile(profiler, args.profile)
        ok = all(result["ok"] for result in results) and not sample[1]
    except (SetupError, psycopg2.Error) as exc:
        print(f"setup failed: {exc}")
        return 2
    finally:
        if args.keep_db:
            say(f"database {args.db_name} kept")
        else:
            drop_database(args)
            say(f"database {args.db_name} dropped")
    return 0 if ok else 1


def configure(args) -> None:
    args.pg_host = HOST
