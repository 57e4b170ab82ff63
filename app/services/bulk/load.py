"""Loading the bulk desk's rows: COPY on PostgreSQL, executemany on SQLite."""

import csv
import io
import queue
import threading
from collections.abc import Iterator

from sqlalchemy import column, func, insert, select
from sqlalchemy.sql.expression import TableClause

from app.extensions import db
from app.models.ticket import Activity, Message, Ticket

TICKET_COLUMNS = (
    "id", "title", "description", "status", "priority", "category", "requester_id",
    "assigned_agent_id", "created_at", "updated_at", "first_response_at", "resolved_at",
    "closed_at", "response_due_at", "resolution_due_at", "sla_paused_seconds", "sla_paused_at",
    "message_count", "public_message_count", "sla_policy_id", "response_at_risk_at",
    "resolution_at_risk_at", "sla_response_alert", "sla_resolution_alert", "sla_next_alert_at",
)  # fmt: skip
MESSAGE_COLUMNS = ("id", "ticket_id", "author_id", "body", "is_internal", "created_at")
ACTIVITY_COLUMNS = (
    "id", "ticket_id", "actor_id", "action", "field", "old_value", "new_value", "created_at",
)  # fmt: skip
TABLES = (
    (Ticket.__table__, TICKET_COLUMNS),
    (Message.__table__, MESSAGE_COLUMNS),
    (Activity.__table__, ACTIVITY_COLUMNS),
)


def next_ids() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
        for table, _columns in TABLES
    }


def execute_many(chunks: Iterator[tuple[list, list, list]]) -> None:
    """SQLite: executemany of each table's compiled Core insert, one transaction per chunk."""
    # A bare table clause: the statement names exactly these columns (no Python-side defaults)
    # and binds the preformatted values as they are.
    statements = [
        str(
            insert(TableClause(table.name, *map(column, columns))).compile(
                dialect=db.engine.dialect
            )
        )
        for table, columns in TABLES
    ]
    for chunk in chunks:
        connection = db.session.connection()
        for statement, rows in zip(statements, chunk, strict=True):
            if rows:
                connection.exec_driver_sql(statement, rows)
        db.session.commit()


def as_csv(chunk: tuple[list, list, list]) -> list[tuple[str, io.StringIO, int]]:
    """Each table's rows as CSV for COPY, with the table name and the highest id."""
    loads = []
    for (table, _columns), rows in zip(TABLES, chunk, strict=True):
        if rows:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            buffer.seek(0)
            loads.append((table.name, buffer, rows[-1][0]))
    return loads


def copy_chunks(chunks: Iterator[list[tuple[str, io.StringIO, int]]]) -> None:
    """PostgreSQL: COPY each chunk in one transaction and move the id sequences past it."""
    columns = {table.name: ", ".join(names) for table, names in TABLES}
    for loads in chunks:
        dbapi_connection = db.session.connection().connection
        with dbapi_connection.cursor() as cursor:
            for table, buffer, last_id in loads:
                cursor.copy_expert(
                    f"COPY {table} ({columns[table]}) FROM STDIN WITH (FORMAT csv)",
                    buffer,
                    size=1 << 20,
                )
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, last_id)
                )
        db.session.commit()


def in_background(items: Iterator) -> Iterator:
    """Iterate `items` in a thread, one item ahead, so that making one overlaps loading another.

    The COPY waits for the server with the GIL released, so the two really run side by side.
    """
    handoff: queue.Queue = queue.Queue(maxsize=1)
    finished = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                handoff.put(item)
            handoff.put(finished)
        except BaseException as error:  # handed to the consumer, which re-raises it
            handoff.put(error)

    worker = threading.Thread(target=produce, name="bulk-generator", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                handoff.get_nowait()
            except queue.Empty:
                worker.join(0.05)
