"""bench/scale.py's yardstick: the ticket list's first page without Flask, auth or count.

`GET /tickets` answers the 25 newest tickets (the list's default order, `-created_at` then id)
with the same joins and item fields as `GET /api/tickets?per_page=25`, from psycopg2 and
`json.dumps` (bench/http_ceiling.py's pool and item builder), in the envelope without a total.

    gunicorn -c gunicorn.conf.py bench.scale_bare:app   (from the project root)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench.http_ceiling import TICKET_COLUMNS, item, pool

PAGE_SQL = (
    "SELECT " + TICKET_COLUMNS + ", requester.name, requester.email, agents.team, "
    "agent_user.name, NULL, tickets.sla_policy_id, sla_policies.name "
    "FROM tickets JOIN users AS requester ON requester.id = tickets.requester_id "
    "LEFT OUTER JOIN agents ON agents.id = tickets.assigned_agent_id "
    "LEFT OUTER JOIN users AS agent_user ON agent_user.id = agents.user_id "
    "LEFT OUTER JOIN sla_policies ON sla_policies.id = tickets.sla_policy_id "
    "ORDER BY tickets.created_at DESC, tickets.id DESC LIMIT 25"
)


def page() -> dict:
    with pool().connection() as connection, connection.cursor() as cursor:
        cursor.execute(PAGE_SQL)
        rows = cursor.fetchall()
    now = datetime.now(UTC)
    items = []
    for row in rows:
        one = item(row, now)
        one["sla_policy"] = {"id": row[-2], "name": row[-1]}
        items.append(one)
    return {"items": items, "page": 1, "per_page": 25, "total": None, "pages": None}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        body = b'{"status": "ok"}'
    elif path == "/tickets":
        body = json.dumps(page()).encode()
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
