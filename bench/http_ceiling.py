"""The ceiling for bench/http.py's list scenario: the ticket list's page, without Flask.

A bare WSGI app (no Flask, no SQLAlchemy, no marshmallow) with one endpoint,
`GET /tickets?status=open,in_progress&page=1&per_page=25`, that answers what
`GET /api/tickets?per_page=25&status=open,in_progress&sort=-priority` answers, from one
statement per page: the tickets with their requester, assigned agent (and its user) and SLA
policy joined, ordered by severity then id, LIMIT/OFFSET, the envelope's total riding along
as a scalar subquery capped as the app caps it (NULL above 10,000 matches; a page past the
end counts on its own). It runs it with psycopg2 over a small per-process connection pool and
answers `json.dumps` of the rows in the app's envelope without `next_cursor` (the app signs
its cursors), with the same item fields (timestamps as ISO 8601 with `Z`, the SLA booleans and
`sla_status` from the stored instants, `message_count` as staff see it). No authentication,
no logging, no validation beyond ints: it measures what the database, psycopg2 and
json.dumps cost on this machine, served by the same gunicorn worker class as the app.

    gunicorn -k gevent -w 2 -b 127.0.0.1:PORT bench.http_ceiling:app   (from the project root)

Environment: DATABASE_URL (required), CEILING_POOL_SIZE (connections per worker, default 10).
`GET /health` answers 200 without touching the database. bench/http.py compares this
endpoint's pages with the app's, field for field, and stops when they differ.
"""

from __future__ import annotations

import json
import math
import os
import queue
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import parse_qs

import psycopg2


def _patch_for_gevent() -> None:
    # gunicorn's gevent worker monkey-patches the process before it imports the app; psycopg2
    # then needs psycogreen's wait callback to yield to other greenlets while it waits.
    try:
        from gevent import monkey
    except ImportError:
        return
    if monkey.is_module_patched("socket"):
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


_patch_for_gevent()

STATUSES = ("open", "in_progress", "pending", "resolved", "closed")
DONE_STATUSES = ("resolved", "closed")

TICKET_COLUMNS = (
    "tickets.id, tickets.title, tickets.description, tickets.status, tickets.priority, "
    "tickets.category, tickets.requester_id, tickets.assigned_agent_id, tickets.created_at, "
    "tickets.updated_at, tickets.first_response_at, tickets.resolved_at, tickets.closed_at, "
    "tickets.response_due_at, tickets.resolution_due_at, tickets.sla_paused_seconds, "
    "tickets.sla_paused_at, tickets.message_count, tickets.public_message_count, "
    "tickets.response_at_risk_at, tickets.resolution_at_risk_at, tickets.sla_policy_id, "
    "requester.name, requester.email, agents.team, agent_user.name, sla_policies.name"
)
MAX_TOTAL = 10_000


def page_sql(where: str, order: str, total: str = "NULL") -> str:
    """A page of tickets with what their items show joined, and `total` riding along."""
    return (
        f"SELECT {TICKET_COLUMNS}, ({total}) AS total "
        "FROM tickets JOIN users AS requester ON requester.id = tickets.requester_id "
        "LEFT OUTER JOIN agents ON agents.id = tickets.assigned_agent_id "
        "LEFT OUTER JOIN users AS agent_user ON agent_user.id = agents.user_id "
        "LEFT OUTER JOIN sla_policies ON sla_policies.id = tickets.sla_policy_id "
        f"{where} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s"
    )


LIST_WHERE = "WHERE tickets.status IN %(status)s"
COUNT_SQL = (
    f"SELECT CASE WHEN EXISTS (SELECT 1 FROM tickets {LIST_WHERE} OFFSET {MAX_TOTAL}) "
    f"THEN NULL ELSE (SELECT count(*) FROM (SELECT 1 FROM tickets {LIST_WHERE} "
    f"LIMIT {MAX_TOTAL}) AS capped) END"
)
LIST_SQL = page_sql(LIST_WHERE, "tickets.priority_rank DESC, tickets.id DESC", COUNT_SQL)

# Column positions in a page_sql row.
(
    ID, TITLE, DESCRIPTION, STATUS, PRIORITY, CATEGORY, REQUESTER_ID, ASSIGNED_AGENT_ID,
    CREATED_AT, UPDATED_AT, FIRST_RESPONSE_AT, RESOLVED_AT, CLOSED_AT, RESPONSE_DUE_AT,
    RESOLUTION_DUE_AT, SLA_PAUSED_SECONDS, SLA_PAUSED_AT, MESSAGE_COUNT, PUBLIC_MESSAGE_COUNT,
    RESPONSE_AT_RISK_AT, RESOLUTION_AT_RISK_AT, SLA_POLICY_ID, REQUESTER_NAME, REQUESTER_EMAIL,
    AGENT_TEAM, AGENT_NAME, POLICY_NAME, TOTAL,
) = range(28)  # fmt: skip


class Pool:
    """At most `size` connections, made on demand and reused (LIFO); gevent-friendly once
    the worker has patched `queue`."""

    def __init__(self, dsn: str, size: int):
        self.dsn = dsn
        self.idle: queue.LifoQueue = queue.LifoQueue()
        self.slots = queue.Queue()
        for _ in range(size):
            self.slots.put(None)

    @contextmanager
    def connection(self):
        self.slots.get(timeout=30)
        try:
            try:
                connection = self.idle.get_nowait()
            except queue.Empty:
                connection = psycopg2.connect(self.dsn)
                connection.autocommit = True
            try:
                yield connection
            except Exception:
                connection.close()
                raise
            else:
                self.idle.put(connection)
        finally:
            self.slots.put(None)


_pool: Pool | None = None


def pool() -> Pool:
    global _pool
    if _pool is None:  # per worker process, after the fork
        _pool = Pool(os.environ["DATABASE_URL"], int(os.environ.get("CEILING_POOL_SIZE", "10")))
    return _pool


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def item(row: tuple, now: datetime) -> dict:
    first_response_at, resolved_at = row[FIRST_RESPONSE_AT], row[RESOLVED_AT]
    response_due_at, resolution_due_at = row[RESPONSE_DUE_AT], row[RESOLUTION_DUE_AT]
    paused_at = row[SLA_PAUSED_AT]
    response_breached = (first_response_at or now) > response_due_at
    resolution_breached = (resolved_at or paused_at or now) > resolution_due_at
    if response_breached or resolution_breached:
        sla_status = "breached"
    elif row[STATUS] in DONE_STATUSES:
        sla_status = "met"
    elif first_response_at is None:
        sla_status = "at_risk" if now >= row[RESPONSE_AT_RISK_AT] else "on_track"
    else:
        at_risk = (paused_at or now) >= row[RESOLUTION_AT_RISK_AT]
        sla_status = "at_risk" if at_risk else "on_track"
    agent = None
    if row[ASSIGNED_AGENT_ID] is not None:
        agent = {"id": row[ASSIGNED_AGENT_ID], "name": row[AGENT_NAME], "team": row[AGENT_TEAM]}
    policy = None
    if row[SLA_POLICY_ID] is not None:
        policy = {"id": row[SLA_POLICY_ID], "name": row[POLICY_NAME]}
    return {
        "id": row[ID],
        "title": row[TITLE],
        "description": row[DESCRIPTION],
        "status": row[STATUS],
        "priority": row[PRIORITY],
        "category": row[CATEGORY],
        "requester_id": row[REQUESTER_ID],
        "requester": {
            "id": row[REQUESTER_ID],
            "name": row[REQUESTER_NAME],
            "email": row[REQUESTER_EMAIL],
        },
        "assigned_agent_id": row[ASSIGNED_AGENT_ID],
        "assigned_agent": agent,
        "created_at": iso(row[CREATED_AT]),
        "updated_at": iso(row[UPDATED_AT]),
        "first_response_at": iso(first_response_at),
        "resolved_at": iso(resolved_at),
        "closed_at": iso(row[CLOSED_AT]),
        "response_due_at": iso(response_due_at),
        "resolution_due_at": iso(resolution_due_at),
        "response_breached": response_breached,
        "resolution_breached": resolution_breached,
        "sla_status": sla_status,
        "sla_paused_seconds": row[SLA_PAUSED_SECONDS],
        "sla_policy": policy,
        "message_count": row[MESSAGE_COUNT],  # as staff see it
    }


def list_page(statuses: tuple[str, ...], page: int, per_page: int) -> dict:
    params = {"status": statuses, "limit": per_page, "offset": (page - 1) * per_page}
    with pool().connection() as connection, connection.cursor() as cursor:
        cursor.execute(LIST_SQL, params)
        rows = cursor.fetchall()
        if rows:
            total = rows[0][TOTAL]
        elif page > 1:
            cursor.execute(COUNT_SQL, params)
            total = cursor.fetchone()[0]
        else:
            total = 0
    now = datetime.now(UTC)
    return {
        "items": [item(row, now) for row in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": None if total is None else math.ceil(total / per_page),
    }


def _respond(start_response, status: str, body: bytes):
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        return _respond(start_response, "200 OK", b'{"status": "ok"}')
    if path != "/tickets" or environ.get("REQUEST_METHOD") != "GET":
        return _respond(start_response, "404 Not Found", b'{"status": 404}')
    query = parse_qs(environ.get("QUERY_STRING", ""))
    statuses = (
        tuple(s for value in query.get("status", []) for s in value.split(",") if s in STATUSES)
        or STATUSES
    )
    try:
        page = max(1, int(query.get("page", ["1"])[0]))
        per_page = min(100, max(1, int(query.get("per_page", ["25"])[0])))
    except ValueError:
        return _respond(start_response, "422 Unprocessable Entity", b'{"status": 422}')
    body = json.dumps(list_page(statuses, page, per_page)).encode()
    return _respond(start_response, "200 OK", body)
