"""Bulk data for `flask seed --tickets N --seed S`: a year of a believable desk, loaded fast.

`generate(count, seed)` adds `count` tickets created over the year before `clock.now()`, the
same ones for the same seed and the same users and agents:

- 200 requesters (`bulk-requester-0001@example.com`, ...; password `requester123!`, hashed
  once) and, while the desk has fewer than 20 active agents, 15 agents across the Network,
  Hardware, Software and Access teams (`bulk-agent-01@example.com`, ...; `agent123!`). Both are
  created once, by e-mail: generating again adds tickets, never users.
- Priorities about 10% critical, 25% high, 45% medium, 20% low; five categories, each routed to
  its team's agents. Tickets arrive mostly in weekday business hours (UTC), ids in time order.
- About 70% resolved or closed (old tickets far more often than recent ones), the rest open,
  in progress or pending. Most tickets have a first response; some responses and resolutions
  miss their targets (more often for tight targets), some tickets spent time pending
  (`sla_paused_seconds`, with `resolution_due_at` later by as much) and pending tickets have
  their clock stopped (`sla_paused_at`). Every ticket is on the default policy, with due
  times from its targets counted 24/7 (give that policy a calendar afterwards, and the open
  tickets are replayed on it). Clocks of open tickets already at risk or breached count as
  alerted: the SLA scan does not send a year of alerts at once.
- Every ticket with a first response has a public message from its agent at that moment, plus
  about one more message on average (requester replies, agent replies, internal notes);
  `message_count` and `public_message_count` match the messages. About two messages a ticket.
- Activities: one `created` per ticket (tickets are taken as routed to their agent at intake,
  so assignment records none), and the status changes that led to the current status:
  `open -> in_progress [-> pending -> in_progress]`, `open -> resolved` or, after a pause,
  `open -> in_progress -> pending -> resolved`, then `resolved -> closed`. No events: the outbox
  is for live changes only.

Rows are plain tuples with timestamps formatted once per database (whole seconds, UTC). On
PostgreSQL they go in with COPY (CSV), 50,000 tickets and their messages and activities per
transaction, produced by a background thread while the previous chunk is being copied; on
SQLite, with executemany of the compiled Core insert. Ids are explicit, after the highest
existing one, and PostgreSQL's sequences are moved past them: run it on a quiet database.
Full-text search needs nothing: the FTS5 triggers (SQLite) and the GIN index (PostgreSQL)
follow the inserts. On PostgreSQL the tables are analysed at the end.
"""

import random

from sqlalchemy import text

from app import clock
from app.extensions import db
from app.services import ticket_sla
from app.services.bulk.desk import Desk, Stamps
from app.services.bulk.load import as_csv, copy_chunks, execute_many, in_background, next_ids
from app.services.bulk.people import (
    BULK_AGENT_COUNT,
    REQUESTER_COUNT,
    ensure_agents,
    ensure_requesters,
)

__all__ = ["BULK_AGENT_COUNT", "REQUESTER_COUNT", "generate"]


def generate(count: int, seed: int) -> int:
    """Add `count` generated tickets (with messages and activities); return how many."""
    if count <= 0:
        return 0
    now = clock.now()
    requester_ids = ensure_requesters(now)
    agents = ensure_agents(now)
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    first_id = next_ids()["tickets"]
    desk = Desk(
        random.Random(seed),
        now,
        requester_ids,
        agents,
        next_ids(),
        Stamps(
            " %H:%M:%S+00" if postgres else " %H:%M:%S.000000",
            " %H:%M:%S.000001+00" if postgres else " %H:%M:%S.000001",
        ),
        ticket_sla.default_policy(),
        true="t" if postgres else 1,
        false="f" if postgres else 0,
    )
    chunks = desk.chunks(count)
    if postgres:
        copy_chunks(in_background(as_csv(chunk) for chunk in chunks))
        # Fresh statistics, so that the very next queries are planned for a big desk.
        db.session.execute(text("ANALYZE tickets, ticket_messages, ticket_activities"))
        db.session.commit()
    else:
        execute_many(chunks)
    # The export's order: generated tickets come before every live change (they have no events).
    db.session.execute(
        text(
            "INSERT INTO ticket_changes (ticket_id, change_seq, deleted) "
            "SELECT id, 0, false FROM tickets WHERE id >= :first"
        ),
        {"first": first_id},
    )
    db.session.commit()
    return count
