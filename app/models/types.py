"""Column types shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator

# Ids are 32-bit INTEGER columns: a larger value names no row (and overflows SQL binding).
MAX_ID = 2**31 - 1

# Table option: SQLite hands out ids above any ever used (AUTOINCREMENT), not max(id) + 1, so
# the id of a deleted row never names another one. PostgreSQL's sequences never reuse ids anyway.
SQLITE_AUTOINCREMENT = {"sqlite_autoincrement": True}

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigIntegerId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as naive UTC
    text in one format, which keeps SQL comparisons and ordering correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
