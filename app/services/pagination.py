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
    """One count and one page query, whatever the page size."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return envelope(items, page, per_page, total)


def envelope(items: list, page: int, per_page: int, total: int) -> dict:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page) if total else 0,
    }
