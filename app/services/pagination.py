"""Pages of `select()` statements: offset pages with a capped total, and keyset cursors.

A list is ordered by its sort key, then by id, so that the order is total. A cursor names
the sort key values of a page's last row, signed with the app's secret together with the
list and the filters it was made for: the next page is the rows after those values, a
keyset scan that costs the same at any depth. Offset pages stop at a configured number of
objects, and the total is counted only that far. A busy list can keep its built statements
(PageQuery) with cached_query, keyed by whatever they were built from.
"""

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from flask import Flask, current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, and_, false, func, literal, literal_column, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from app.errors import ServiceError
from app.extensions import db
from app.shared_lru import SharedLRU

PAGE_ARGUMENTS = ("page", "per_page", "cursor")
QUERY_CACHE_SIZE = 256


class InvalidCursor(ServiceError):
    """400: a cursor that is not ours, was altered, or was made for another list or filters."""


class OffsetTooDeep(ServiceError):
    """400: an offset page beyond the objects offset pages reach."""


@dataclass(frozen=True)
class Order:
    """Expressions a list is ordered by, each (expression, descending); the last is unique."""

    keys: tuple[tuple[ColumnElement, bool], ...]

    def clauses(self) -> list:
        return [expr.desc() if descending else expr.asc() for expr, descending in self.keys]


def sort_order(sort: str | None, columns: dict, id_column, nullable: Sequence[str] = ()) -> Order:
    """The order of `sort` ("field" or "-field", None for by id), then id in the same direction.

    A nullable field sorts its NULLs last either way (PostgreSQL and SQLite disagree on where
    they go), through a key of its own ahead of it.
    """
    if not sort:
        return Order(((id_column, False),))
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    keys = [(columns[name], descending), (id_column, descending)]
    if name in nullable:
        keys.insert(0, (columns[name].is_(None), False))
    return Order(tuple(keys))


@dataclass(frozen=True)
class PageQuery:
    """The statements of one page, ready to run: all of them follow from the list, its
    arguments and the caller's scope, so one built for equal ones serves again (cached_query)."""

    rows: Select
    count: Select | None  # offset pages only
    keys: tuple
    fingerprint: str
    page: int | None
    per_page: int
    cap: int


def paginate(
    stmt: Select, order: Order, args: dict, *, item: Callable = lambda row: row[0], **query
) -> dict:
    """The page of `stmt` that `args` asks for (`cursor`, else `page`) and its envelope;
    `item` turns a row of the page's columns into what the page lists, `query` holds
    page_query's keywords."""
    return run(page_query(stmt, order, args, **query), item)


def page_query(
    stmt: Select,
    order: Order,
    args: dict,
    *,
    list_name: str,
    options: Sequence = (),
    page_select: Callable[[Select], Select] | None = None,
) -> PageQuery:
    """The statements of a page, built but not run.

    `stmt` selects and filters; `options` (loader options) apply to the page only, not to
    the count, and so does `page_select`, which turns `stmt` into the page's columns (and
    their joins). `list_name` names the list (and its parent, e.g. the ticket) for the cursor.
    """
    per_page = args["per_page"]
    fingerprint = _fingerprint(list_name, args)
    keys = tuple(expr.label(f"_key{n}") for n, (expr, _) in enumerate(order.keys))
    page_stmt = page_select(stmt) if page_select else stmt
    page_stmt = page_stmt.add_columns(*keys).order_by(*order.clauses()).options(*options)
    page, count, cap = None, None, max_offset_objects()
    if args.get("cursor"):
        after = _decode(args["cursor"], fingerprint)
        page_stmt = page_stmt.where(_after(order, after))
    else:
        page = args.get("page") or 1
        if page * per_page > cap:
            raise OffsetTooDeep(
                f"Pages reach the first {cap:,} objects of a list; use `cursor` (each "
                "response's `next_cursor`) to go further."
            )
        count = _capped_count(stmt, cap)
        page_stmt = page_stmt.add_columns(count.scalar_subquery().label("_total"))
        page_stmt = page_stmt.offset((page - 1) * per_page)
    rows = page_stmt.limit(per_page + 1)
    return PageQuery(rows, count, keys, fingerprint, page, per_page, cap)


def run(query: PageQuery, item: Callable = lambda row: row[0]) -> dict:
    """Run a PageQuery: the page, its envelope and next cursor."""
    per_page, page, cap = query.per_page, query.page, query.cap
    rows = db.session.execute(query.rows).all()
    more, rows = len(rows) > per_page, rows[:per_page]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = _encode([getattr(last, key.name) for key in query.keys], query.fingerprint)
    total = None
    if page is not None:
        if rows:
            total = rows[0]._total
        elif page > 1:
            total = db.session.execute(query.count).scalar()
        else:
            total = 0
        total = total if total <= cap else None
    return envelope([item(row) for row in rows], page, per_page, total, next_cursor)


def cached_query(key: Hashable, build: Callable[[], PageQuery]) -> PageQuery:
    """The PageQuery built for `key` lately in this worker, else `build()`'s, kept for next time.

    Building a ticket list's statements and computing SQLAlchemy's cache key for them (it
    walks the whole statement) was a quarter of the instructions of a warm first page
    (callgrind: 11.2M a request, 8.6M with the statements reused) and a tenth to a fifth of
    the list's requests/s under gunicorn. A statement object computes its cache key once.
    One entry holds about 30 KiB (tracemalloc), so QUERY_CACHE_SIZE of them about 8 MiB.
    """
    query = queries().get(key)
    if query is None:
        query = build()
        queries().put(key, query)
    return query


def envelope(
    items: list, page: int | None, per_page: int, total: int | None, next_cursor: str | None
) -> dict:
    pages = None if total is None else math.ceil(total / per_page)
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "next_cursor": next_cursor,
    }


def init_app(app: Flask) -> None:
    app.extensions["page_queries"] = SharedLRU(QUERY_CACHE_SIZE)


def queries() -> SharedLRU:
    return current_app.extensions["page_queries"]


def max_offset_objects() -> int:
    return current_app.config["PAGINATION_MAX_OFFSET_OBJECTS"]


def _capped_count(stmt: Select, cap: int) -> Select:
    # SELECT count(*) FROM (SELECT 1 ... LIMIT cap + 1): never more rows than that read. (Asking
    # first whether a row lies past the cap, with OFFSET, saved a third on lists far above the
    # cap but cost 1.4 to 1.8 times as much on a filtered list of 8,600 tickets: pgbench.)
    ones = stmt.with_only_columns(literal_column("1"), maintain_column_froms=True)
    limited = ones.order_by(None).limit(cap + 1).subquery()
    return select(func.count()).select_from(limited).correlate(None)


def _after(order: Order, values: list) -> ColumnElement:
    """Rows that come after the row whose keys are `values`, in `order`."""
    if len(values) != len(order.keys):
        raise InvalidCursor("The cursor does not belong to this list.")
    exprs = [expr for expr, _ in order.keys]
    literals = [literal(value, expr.type) for expr, value in zip(exprs, values, strict=True)]
    directions = {descending for _, descending in order.keys}
    if len(directions) == 1 and None not in values:
        # One row-value comparison, which an index on the keys serves as a range scan.
        if directions == {True}:
            return tuple_(*exprs) < tuple_(*literals)
        return tuple_(*exprs) > tuple_(*literals)
    alternatives = []
    for n, (expr, descending) in enumerate(order.keys):
        earlier_equal = [
            exprs[m].is_(None) if values[m] is None else exprs[m] == literals[m] for m in range(n)
        ]
        if values[n] is None:
            beyond = false()  # NULLs sort by a key of their own: none is beyond another
        else:
            beyond = expr < literals[n] if descending else expr > literals[n]
        alternatives.append(and_(*earlier_equal, beyond))
    return or_(*alternatives)


def _fingerprint(list_name: str, args: dict) -> str:
    filters = {name: value for name, value in args.items() if name not in PAGE_ARGUMENTS}
    text = json.dumps([list_name, filters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="list-cursor")


def _encode(values: list, fingerprint: str) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    return _serializer().dumps({"f": fingerprint, "v": plain})


def _decode(cursor: str, fingerprint: str) -> list:
    try:
        payload = _serializer().loads(cursor)
    except BadData as error:
        raise InvalidCursor("The cursor is not one this service made, or was altered.") from error
    if not isinstance(payload, dict) or payload.get("f") != fingerprint:
        raise InvalidCursor(
            "The cursor was made for another list, filters or sort: send it with the same "
            "parameters as the request whose `next_cursor` it was."
        )
    return [dt.datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in payload["v"]]
