"""Path ids: positive and within the database's INTEGER range, else the route does not match
(404) instead of overflowing in SQL."""

from werkzeug.routing import IntegerConverter

from app.models.types import MAX_ID as ID_MAX


class IdConverter(IntegerConverter):
    # ASCII digits: Werkzeug's \d+ would also match other scripts' digits, which int() reads.
    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def id_parameter_schema(_converter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": ID_MAX}
