"""Sorting and paging of `select()` statements."""

import math

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db


def apply_sort(stmt: Select, sort: str | None, columns: dict[str, ColumnElement], id_column):
    """Order by `sort` ("field" or "-field"), then by id so that pages never overlap."""
    if not sort:
        return stmt.order_by(id_column)
    descending = sort.startswith("-")
    column = columns[sort.lstrip("-")]
    if descending:
        return stmt.order_by(column.desc(), id_column.desc())
    return stmt.order_by(column.asc(), id_column.asc())


def paginate(stmt: Select, page: int, per_page: int) -> dict:
    """A page of `stmt`'s objects and their total, in one query whatever the page size."""
    rows, total = rows_and_total(stmt, page, per_page)
    return envelope([row[0] for row in rows], page, per_page, total)


def rows_and_total(stmt: Select, page: int, per_page: int) -> tuple[list, int]:
    """A page of `stmt`'s rows and the count of all of them, in one round trip.

    The total rides on each row as an uncorrelated scalar subquery, which the database
    evaluates once. A page past the end has no rows to carry it, and only then is the count
    asked for on its own. Each row gets one more column, `total`, at its end.
    """
    count = select(func.count()).select_from(stmt.order_by(None).subquery()).correlate(None)
    return _rows_with(page_with_total(stmt, count, page, per_page), count, page, db.session)


def page_with_total(stmt: Select, count: Select, page: int, per_page: int) -> Select:
    """The page of `stmt`, each row carrying `count` as its last column, `total`."""
    stmt = stmt.add_columns(count.scalar_subquery().label("total"))
    return stmt.limit(per_page).offset((page - 1) * per_page)


def plain_rows_and_total(page_stmt: Select, count: Select, page: int) -> tuple[list, int]:
    """As `rows_and_total`, for a page made by `page_with_total` from a Core select of columns
    (whose count can leave out joins the page needs). The rows come from the session's
    connection, past the ORM's result layer, which only slowed them down."""
    return _rows_with(page_stmt, count, page, db.session.connection())


def _rows_with(page_stmt: Select, count: Select, page: int, executor) -> tuple[list, int]:
    rows = executor.execute(page_stmt).all()
    if rows:
        return rows, rows[0].total
    return rows, executor.execute(count).scalar() if page > 1 else 0


def envelope(items: list, page: int, per_page: int, total: int) -> dict:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page) if total else 0,
    }
