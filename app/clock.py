"""The service's notion of "now", in one place so that tests can move time."""

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Pin `now()` to `moment` (None lets time run again). Used by tests."""
    global _frozen
    _frozen = moment
