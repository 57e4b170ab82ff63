"""Whole-word full-text search over ticket title and description, alike on both databases.

PostgreSQL matches a GIN-indexed `to_tsvector('simple', ...)`; SQLite matches an FTS5 table
kept in step by triggers. Both cut text into runs of letters and digits, lower-cased, without
stemming (see the initial migration), and every word of the query must occur.
"""

import re

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.sql import ColumnElement

from app.extensions import db
from app.models.ticket import Ticket

WORD = re.compile(r"[^\W_]+")
SEARCH_DOCUMENT = (
    "regexp_replace(tickets.title || ' ' || tickets.description, '[^[:alnum:]]+', ' ', 'g')"
)


def words(query: str) -> list[str]:
    return [word.lower() for word in WORD.findall(query)]


def matches(query: str) -> ColumnElement[bool]:
    terms = words(query)
    if not terms:
        return literal_column("1") == literal_column("0")
    if db.engine.dialect.name == "postgresql":
        document = func.to_tsvector(text("'simple'::regconfig"), literal_column(SEARCH_DOCUMENT))
        return document.op("@@")(func.to_tsquery(text("'simple'::regconfig"), " & ".join(terms)))
    fts_query = " ".join(f'"{term}"' for term in terms)
    return Ticket.id.in_(
        select(literal_column("rowid"))
        .select_from(text("tickets_fts"))
        .where(text("tickets_fts MATCH :fts_query").bindparams(fts_query=fts_query))
    )
