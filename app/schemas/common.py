"""Schemas and fields shared by every resource: pagination, sorting, lists, time filters."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta

import marshmallow as ma
from marshmallow import fields, validate

from app.models.types import MAX_ID

MAX_PER_PAGE = 100
# Beyond these a value cannot name anything, and the databases would overflow on it (a 500).
MAX_PAGE = 1_000_000_000  # keeps OFFSET within a 64-bit integer
ID_RANGE = validate.Range(min=1, max=MAX_ID)
# What the contract calls an integer when it comes as text: ASCII digits. Python's int() also
# takes "١٢", " 12 " and "1_2", and refuses over 4,300 digits with an error of its own.
INTEGER_TEXT = re.compile(r"-?[0-9]{1,18}")


class Integer(fields.Integer):
    """An integer from JSON, or from text of ASCII digits only (query strings, CSV lists)."""

    def _validated(self, value):
        if isinstance(value, str) and not INTEGER_TEXT.fullmatch(value):
            raise self.make_error("invalid")
        return super()._validated(value)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, Mapping):
        return any(_has_nul(item) for item in value.values())
    return False


class RejectNulMixin:
    """PostgreSQL text cannot hold U+0000: refuse it in any field (422), never a failed INSERT."""

    @ma.pre_load
    def reject_nul_characters(self, data, **kwargs):
        if isinstance(data, Mapping):
            bad = sorted(str(key) for key, value in data.items() if _has_nul(value))
            if bad:
                raise ma.ValidationError({key: ["Must not contain NUL characters."] for key in bad})
        return data


class Schema(RejectNulMixin, ma.Schema):
    """Bodies reject unknown fields; the dump side emits timezone-aware ISO 8601."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ResponseSchema(Schema):
    """A schema that only dumps (what clients see). Every field it declares is in every
    response, so OpenAPI lists them in `required` (app/openapi.py), except the names in
    OPENAPI_OPTIONAL_FIELDS. Load schemas keep marshmallow's own `required`."""

    OPENAPI_OPTIONAL_FIELDS: tuple[str, ...] = ()


class QuerySchema(RejectNulMixin, ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE
        ordered = True


class PageQuerySchema(QuerySchema):
    page = Integer(
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "Offset page (default 1); not with `cursor`."},
    )
    per_page = Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    cursor = fields.String(
        validate=validate.Length(min=1, max=2000),
        metadata={
            "description": "The `next_cursor` of a previous response, sent with the same "
            "filters and sort; not with `page`."
        },
    )

    @ma.validates_schema
    def page_or_cursor(self, data, **kwargs):
        if "page" in data and "cursor" in data:
            raise ma.ValidationError("Send either page or cursor, not both.", "cursor")


def no_nul_characters(value: str) -> None:
    """PostgreSQL text cannot hold U+0000: reject it as a field error, not a failed INSERT."""
    if "\x00" in value:
        raise ma.ValidationError("Must not contain NUL characters.")


class SortField(fields.String):
    """`field` or `-field`; an empty value (`sort=`, as form tools send a blank) means the
    default order, like leaving the parameter out."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if isinstance(value, str) and not value.strip():
            value = ma.missing
        return super().deserialize(value, attr, data, **kwargs)


def sort_field(allowed: tuple[str, ...], default: str | None = None) -> SortField:
    """Without a default, a list left unsorted is in the order its service chooses (by id)."""
    choices = [*allowed, *(f"-{name}" for name in allowed)]
    return SortField(
        validate=validate.OneOf(choices, error="Sort by one of: {choices}."),
        metadata={
            "description": "A field, ascending, or -field, descending.",
            # Constant names for generated clients' enums (else VALUE_5 for "-created_at").
            "x-enum-varnames": [
                name.lstrip("-").upper() + ("_DESC" if name.startswith("-") else "")
                for name in choices
            ],
        },
        **({"load_default": default} if default is not None else {}),
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
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except ValueError as error:
            raise ma.ValidationError("Not a date (YYYY-MM-DD) or ISO 8601 timestamp.") from error
        except OverflowError as error:  # e.g. the day after 9999-12-31
            raise ma.ValidationError("Out of the supported range of dates.") from error


class UTCDateTimeField(fields.DateTime):
    """Dumps aware datetimes as ISO 8601 with a `Z` offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Dumped(fields.Nested):
    """An object the service has already dumped with the nested schema, which documents it."""

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        return nested_obj


def page_schema(
    item_schema: type[ma.Schema], name: str, *, dumped: bool = False
) -> type[ma.Schema]:
    """The pagination envelope around a list of `item_schema` (items the service has dumped
    already when `dumped`)."""
    return type(
        name,
        (ma.Schema,),
        {
            "OPENAPI_OPTIONAL_FIELDS": (),  # a response: every field required
            "items": fields.List((Dumped if dumped else fields.Nested)(item_schema)),
            "page": fields.Integer(
                allow_none=True, metadata={"description": "null on a cursor page"}
            ),
            "per_page": fields.Integer(),
            "total": fields.Integer(
                allow_none=True,
                metadata={"description": "null above 10,000 matching objects and on cursor pages"},
            ),
            "pages": fields.Integer(allow_none=True),
            "next_cursor": fields.String(
                allow_none=True,
                metadata={"description": "The next page's cursor; null on the last page"},
            ),
            "Meta": type("Meta", (), {"ordered": True}),
        },
    )
