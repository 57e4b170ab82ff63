"""SLA at scale: due times on a business-hours calendar with holidays, and the recompute of
every open ticket after a policy change.

    .venv/bin/python bench/sla.py [--calls 100000] [--rounds 5] [--seed 1]
    .venv/bin/python bench/sla.py --recompute [--tickets 330000] [--rounds 3] [--keep-db]

What it does:

1. due: builds a calendar like a European support desk's (Europe/Berlin, Mon-Fri 09:00-12:00
   and 13:00-17:00, Bavaria's public holidays from the `holidays` package and a few days off
   of its own), draws `--calls` starts over 2026-2027 (to the microsecond, any hour of any
   day) and targets from 15 minutes to three weeks of business time, and runs
   `app.services.business_time.due` on each: once unmeasured (it fills the per-date cache, as
   a running service has; that pass is timed and reported apart, and each result is checked
   against `business_seconds`), then `--rounds` measured passes. Prints the median over the
   rounds of the time per call, and p50/p99/max of the calls of one more pass timed one by one,
   against the 50 µs target.

   Pure Python in this process: no database, no server, nothing contacted.

2. recompute (`--recompute`, instead of part 1): (re)creates the PostgreSQL database
   `servicedesk_bench_sla` on postgres@127.0.0.1:5432 (trust auth), runs `flask db upgrade` and
   `flask seed --tickets N` (330,000: about 30% open, in progress or pending, i.e. about
   100,000, with the status changes of their pauses in the audit trail), then
   `VACUUM (ANALYZE)`. `--reuse-db` takes the database of an earlier `--keep-db` run instead.
   In-process, with `SLA_RECOMPUTE_INLINE_MAX=0` (every rule change goes to the worker) and a
   throwaway SQLite task queue: creates the calendar of part 1 through the service, then for
   each of `--rounds` (3) rounds changes the default policy through the service (round 1
   gives it that calendar; every round moves all its targets, up then down, so that every
   due time of every open ticket moves) and times `recompute_sla.call_local()`, the worker's
   task, end to end: every batch, its commit and its `ticket.updated` events. After each
   round SQL checks that every open ticket changed all four instants, its version went up
   by one and it got exactly one `ticket.updated` event, that no resolved or closed ticket
   did, and that no recompute request is left. Then `--sample` (1000) open tickets are
   replayed by this script from their audit trail (`sla.clock_instants`, not the service's
   replay) and compared with what is stored. Prints tickets replayed, the median of the
   rounds in seconds and tickets/s against the 60 s target. `--profile N` runs one more
   round under cProfile and prints its N costliest functions. Drops the database unless
   `--keep-db`.

Exit status 0 when every due time, round and sample ticket checked out (the targets are
reported, "met" or "MISSED", not enforced), 1 when one did not, 2 when the setup failed.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/ holds http.py, which would shadow the standard library's http package.
sys.path[0] = ROOT

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402

from bench import sla_recompute  # noqa: E402
from bench.support import say  # noqa: E402

DUE_TARGET_US = 50.0
# Response and resolution targets as SLA policies set them: 15 minutes to 3 weeks of 7 h days.
TARGET_MINUTES = (15, 30, 60, 120, 240, 480, 960, 1440, 2400, 4800, 9600)
FIRST_START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_MICROSECONDS = 2 * 365 * 86_400 * 1_000_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100_000, help="due calls per round (100000)")
    parser.add_argument("--rounds", type=int, help="measured rounds (5; with --recompute, 3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of starts, targets (1)")
    parser.add_argument(
        "--recompute", action="store_true", help="part 2: the recompute of the open tickets"
    )
    sla_recompute.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.recompute else 5
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    sla_recompute.configure(args)
    return args


def desk_calendar():
    # The app is imported only here and in part 2's setup, after the environment is set:
    # config.py reads it once, at import.
    from app.services.business_time import Calendar

    office_hours = [("09:00", "12:00"), ("13:00", "17:00")]
    return Calendar.create(
        "Europe/Berlin",
        {day: office_hours for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[date(year, 12, day) for year in (2026, 2027) for day in (24, 31)]
        + [date(2026, 8, 14), date(2027, 8, 16)],
        holiday_country="DE",
        holiday_subdivision="BY",
    )


def bench_due(args) -> bool:
    """Part 1: `due` per call. True when every result checked out."""
    from app.services.business_time import business_seconds, due

    calendar = desk_calendar()
    rng = random.Random(args.seed)
    cases = [
        (
            FIRST_START + timedelta(microseconds=rng.randrange(SPAN_MICROSECONDS)),
            rng.choice(TARGET_MINUTES),
        )
        for _ in range(args.calls)
    ]

    began = time.perf_counter()
    results = [due(calendar, start, minutes) for start, minutes in cases]
    cold_us = (time.perf_counter() - began) / len(cases) * 1e6
    wrong = sum(
        business_seconds(calendar, start, result) != minutes * 60
        for (start, minutes), result in zip(cases, results, strict=True)
    )
    say(f"due: first pass {cold_us:.2f} µs per call (filling the per-date cache); {wrong} wrong")

    per_round = []
    for number in range(1, args.rounds + 1):
        began = time.perf_counter()
        for start, minutes in cases:
            due(calendar, start, minutes)
        per_round.append((time.perf_counter() - began) / len(cases) * 1e6)
        say(f"due: round {number}: {per_round[-1]:.2f} µs per call")

    single = []
    clock = time.perf_counter_ns
    for start, minutes in cases:
        began = clock()
        due(calendar, start, minutes)
        single.append((clock() - began) / 1000)
    single.sort()

    median = statistics.median(per_round)
    rows = [
        (f"median of {args.rounds} rounds", f"{median:.2f} µs per call"),
        ("rounds", ", ".join(f"{value:.2f}" for value in per_round)),
        ("first (cold) pass", f"{cold_us:.2f} µs per call"),
        (
            "one by one",
            f"p50 {single[len(single) // 2]:.2f}, p99 {single[int(len(single) * 0.99)]:.2f}, "
            f"max {single[-1]:.2f} µs",
        ),
        (f"target < {DUE_TARGET_US:.0f} µs", "met" if median < DUE_TARGET_US else "MISSED"),
        ("checked (business_seconds)", "all right" if not wrong else f"{wrong} WRONG"),
    ]
    print(f"\ndue on {calendar.time_zone}, Mon-Fri 09-12 and 13-17, DE-BY public holidays;")
    print(f"{len(cases):,} calls a round, targets {TARGET_MINUTES[0]} to {TARGET_MINUTES[-1]} min")
    for label, value in rows:
        print(f"  {label:28} {value}")
    return wrong == 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.recompute:
        return sla_recompute.bench_recompute(args)
    ok = bench_due(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
