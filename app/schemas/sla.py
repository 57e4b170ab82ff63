"""SLA calendar and policy schemas: dump, create, partial update, and the business-time queries."""

from marshmallow import ValidationError, fields, validate, validates_schema

from app.models.sla import TARGET_PRIORITIES
from app.models.ticket import CATEGORIES, PRIORITIES
from app.schemas.common import (
    ID_RANGE,
    Integer,
    PageQuerySchema,
    QuerySchema,
    ResponseSchema,
    Schema,
    TimeBound,
    UTCDateTimeField,
    page_schema,
)
from app.services.business_time import WEEKDAYS

NAME = validate.Length(min=1, max=120)
# Positions and targets are stored as 32-bit integers; a target of a million minutes is
# about two years around the clock, eight years of 40-hour weeks.
POSITION_RANGE = validate.Range(min=-(2**31), max=2**31 - 1)
MAX_TARGET_MINUTES = 1_000_000
MINUTES = validate.Range(min=1, max=MAX_TARGET_MINUTES)
# business-seconds walks the days between its bounds: a century is the most it takes.
MAX_SPAN_DAYS = 36_525


class IntervalSchema(Schema):
    start = fields.String(required=True, metadata={"example": "09:00"})
    end = fields.String(required=True, metadata={"example": "17:00"})


class StoredDate(fields.Date):
    """A date: loads from YYYY-MM-DD; dumps the stored text (JSON columns hold dates as text)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


class HolidaySchema(Schema):
    date = StoredDate(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))


def _working_hours(**kwargs) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.Nested(IntervalSchema), validate=validate.Length(max=48)),
        metadata={"description": "Local working intervals per weekday (mon..sun)."},
        **kwargs,
    )


def _holidays(**kwargs) -> fields.List:
    return fields.List(fields.Nested(HolidaySchema), validate=validate.Length(max=1000), **kwargs)


COUNTRY = validate.Length(min=2, max=8)
SUBDIVISION = validate.Length(min=1, max=16)


class SlaCalendarSchema(ResponseSchema):
    id = Integer(dump_only=True)
    name = fields.String()
    time_zone = fields.String()
    working_hours = _working_hours()
    holidays = _holidays()
    holiday_country = fields.String(allow_none=True)
    holiday_subdivision = fields.String(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class SlaCalendarCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    working_hours = _working_hours(required=True)
    holidays = _holidays(load_default=list)
    holiday_country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)
    holiday_subdivision = fields.String(load_default=None, allow_none=True, validate=SUBDIVISION)


class SlaCalendarUpdateSchema(Schema):
    """Partial: fields left out are unchanged."""

    name = fields.String(validate=NAME)
    time_zone = fields.String(validate=validate.Length(min=1, max=64))
    working_hours = _working_hours()
    holidays = _holidays()
    holiday_country = fields.String(allow_none=True, validate=COUNTRY)
    holiday_subdivision = fields.String(allow_none=True, validate=SUBDIVISION)


class SlaCalendarQuerySchema(PageQuerySchema):
    pass


SlaCalendarPageSchema = page_schema(SlaCalendarSchema, "SlaCalendarPage")


class TargetSchema(Schema):
    response_minutes = Integer(required=True, strict=True, validate=MINUTES)
    resolution_minutes = Integer(required=True, strict=True, validate=MINUTES)


TargetsSchema = Schema.from_dict(
    {priority: fields.Nested(TargetSchema, required=True) for priority in TARGET_PRIORITIES},
    name="SlaTargetsSchema",
)


def _values(choices: tuple[str, ...] | None = None) -> fields.List:
    item = (
        fields.String(validate=validate.OneOf(choices))
        if choices
        else fields.String(validate=validate.Length(min=1, max=120))
    )
    return fields.List(item, validate=validate.Length(max=100))


class ConditionsSchema(Schema):
    """Each list optional; a missing or empty list matches anything."""

    priority = _values(PRIORITIES)
    category = _values(CATEGORIES)
    requester_department = _values()


class SlaPolicySchema(ResponseSchema):
    id = Integer(dump_only=True)
    name = fields.String()
    position = Integer()
    is_active = fields.Boolean()
    is_default = fields.Boolean(dump_only=True, metadata={"description": "Read-only."})
    conditions = fields.Nested(ConditionsSchema)
    calendar_id = Integer(allow_none=True, metadata={"description": "null: 24/7."})
    targets = fields.Nested(TargetsSchema)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class SlaPolicyCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    position = Integer(load_default=0, strict=True, validate=POSITION_RANGE)
    is_active = fields.Boolean(load_default=True)
    conditions = fields.Nested(ConditionsSchema, load_default=dict)
    calendar_id = Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    targets = fields.Nested(TargetsSchema, required=True)


class SlaPolicyUpdateSchema(Schema):
    """Partial at the top level; `targets` and `conditions` are replaced as a whole."""

    name = fields.String(validate=NAME)
    position = Integer(strict=True, validate=POSITION_RANGE)
    is_active = fields.Boolean()
    conditions = fields.Nested(ConditionsSchema)
    calendar_id = Integer(allow_none=True, validate=ID_RANGE)
    targets = fields.Nested(TargetsSchema)


class SlaPolicyQuerySchema(PageQuerySchema):
    pass


SlaPolicyPageSchema = page_schema(SlaPolicySchema, "SlaPolicyPage")


class DueQuerySchema(QuerySchema):
    start = TimeBound(required=True)
    minutes = Integer(required=True, validate=MINUTES)


class DueSchema(ResponseSchema):
    start = UTCDateTimeField(required=True)
    minutes = Integer(required=True)
    due_at = UTCDateTimeField(required=True)


class BusinessSecondsQuerySchema(QuerySchema):
    start = TimeBound(required=True, data_key="from")
    end = TimeBound(required=True, upper=True, data_key="to")

    @validates_schema
    def check_order(self, data, **kwargs):
        if "start" in data and "end" in data:
            if data["start"] > data["end"]:
                raise ValidationError("Must not be after `to`.", "from")
            if (data["end"] - data["start"]).days > MAX_SPAN_DAYS:
                raise ValidationError(f"At most {MAX_SPAN_DAYS} days after `from`.", "to")


class BusinessSecondsSchema(ResponseSchema):
    start = UTCDateTimeField(required=True, data_key="from")
    end = UTCDateTimeField(required=True, data_key="to")
    seconds = fields.Raw(
        required=True, metadata={"type": "number", "description": "Whole seconds when exact."}
    )


class CalendarSummarySchema(ResponseSchema):
    id = Integer()
    name = fields.String()
    time_zone = fields.String()


class PolicySummarySchema(ResponseSchema):
    id = Integer()
    name = fields.String()


class SlaClockSchema(ResponseSchema):
    target_minutes = Integer()
    due_at = UTCDateTimeField()
    completed_at = UTCDateTimeField(allow_none=True)
    breached = fields.Boolean()
    business_seconds_elapsed = Integer()
    business_seconds_remaining = Integer(
        metadata={"description": "Negative once breached; stops at completion and in pauses."}
    )


class SlaPauseSchema(ResponseSchema):
    started_at = UTCDateTimeField()
    ended_at = UTCDateTimeField(allow_none=True)
    business_seconds = Integer()


class TicketSlaSchema(ResponseSchema):
    """`GET /api/tickets/{id}/sla`: the policy, calendar, both clocks and the pauses."""

    policy = fields.Nested(PolicySummarySchema)
    calendar = fields.Nested(CalendarSummarySchema, allow_none=True)
    response = fields.Nested(SlaClockSchema)
    resolution = fields.Nested(SlaClockSchema)
    pauses = fields.List(fields.Nested(SlaPauseSchema))
