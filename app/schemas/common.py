"""Schemas and fields shared by every resource: pagination, sorting, lists, time filters."""

from datetime import UTC, datetime, time, timedelta

import marshmallow as ma
from marshmallow import fields, validate

MAX_PER_PAGE = 100


class Schema(ma.Schema):
    """Bodies reject unknown fields; the dump side emits timezone-aware ISO 8601."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class QuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE
        ordered = True


class PageQuerySchema(QuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def sort_field(allowed: tuple[str, ...], default: str) -> fields.String:
    choices = [*allowed, *(f"-{name}" for name in allowed)]
    return fields.String(
        load_default=default,
        validate=validate.OneOf(choices, error="Sort by one of: {choices}."),
        metadata={"description": "A field, ascending, or -field, descending."},
    )


class CommaList(fields.List):
    """A list given as repeated parameters, comma-separated values, or both."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [value]
        parts = [part.strip() for item in value for part in str(item).split(",") if part.strip()]
        return super()._deserialize(parts, attr, data, **kwargs)


def one_of_list(choices: tuple[str, ...], **kwargs) -> CommaList:
    return CommaList(fields.String(validate=validate.OneOf(choices)), **kwargs)


class TimeBound(fields.Field):
    """A date or a full timestamp; a date as an upper bound means the end of that UTC day.

    Loads to an aware UTC datetime. `upper=True` makes a bare date exclusive at the next midnight.
    """

    def __init__(self, *, upper: bool = False, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"type": "string", "description": "A date (YYYY-MM-DD) or an ISO 8601 timestamp."}
        )
        super().__init__(**kwargs)
        self.upper = upper

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ma.ValidationError("Not a date or timestamp.")
        text = value.strip()
        try:
            if len(text) == 10:
                day = datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(), UTC)
                return day + timedelta(days=1) if self.upper else day
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            raise ma.ValidationError("Not a date (YYYY-MM-DD) or ISO 8601 timestamp.") from error
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UTCDateTimeField(fields.DateTime):
    """Dumps aware datetimes as ISO 8601 with a `Z` offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The pagination envelope around a list of `item_schema`."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
            "pages": fields.Integer(),
            "Meta": type("Meta", (), {"ordered": True}),
        },
    )
