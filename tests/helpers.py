"""Assertions and small readers shared by the HTTP tests."""

import threading
from contextlib import contextmanager

from sqlalchemy import event, select

from app.extensions import db

PROBLEM_MIME = "application/problem+json"


def assert_problem(response, status: int, detail_contains: str | None = None) -> dict:
    """Assert an RFC 9457 problem response with `status`; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_MIME
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    if detail_contains is not None:
        assert detail_contains.lower() in body["detail"].lower(), body["detail"]
    return body


def bearer(token: str) -> dict:
    return {"Authorization": "Bearer " + token}


def stored(model, object_id: int) -> dict | None:
    """The committed row, read on a connection of its own (not the test's session)."""
    table = model.__table__
    with db.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == object_id)).mappings().first()
    return dict(row) if row is not None else None


def names(response) -> list[str]:
    """The `name` of each item of a successful list response, in order."""
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def pick(mapping, *keys: str) -> tuple:
    return tuple(mapping[key] for key in keys)


@contextmanager
def recorded_statements():
    """The SQL statements this thread sends (not those of background threads, e.g. the event
    dispatcher), for tests that count queries per request."""
    statements: list[str] = []
    thread = threading.get_ident()

    def record(_connection, _cursor, statement, _parameters, _context, _executemany):
        if threading.get_ident() == thread:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
