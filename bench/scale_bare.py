"""bench/scale.py's yardstick: the ticket list's first page without Flask, auth or count.

`GET /tickets` answers the 25 newest tickets (the list's default order, `-created_at` then id)
with the same joins and item fields as `GET /api/tickets?per_page=25`, from psycopg2 and
`json.dumps` (bench/http_ceiling.py's pool and item builder), in the envelope without a total.

    gunicorn -c gunicorn.conf.py bench.scale_bare:app   (from the project root)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench.http_ceiling import item, page_sql, pool

PAGE_SQL = page_sql("", "tickets.created_at DESC, tickets.id DESC")


def page() -> dict:
    with pool().connection() as connection, connection.cursor() as cursor:
        cursor.execute(PAGE_SQL, {"limit": 25, "offset": 0})
        rows = cursor.fetchall()
    now = datetime.now(UTC)
    items = [item(row, now) for row in rows]
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
