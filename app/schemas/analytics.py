"""Report schemas: the query arguments (a time window, a grouping) and the shape of each report."""

from datetime import UTC, datetime

from marshmallow import ValidationError, fields, post_load, validate

from app import clock
from app.schemas.common import (
    Integer,
    QuerySchema,
    ResponseSchema,
    TimeBound,
    UTCDateTimeField,
)
from app.schemas.ticket import TicketQuerySchema, TicketSchema
from app.services import analytics

SLA_GROUPS = ("priority", "category", "team", "agent", "policy")
AGING_GROUPS = ("priority", "category", "status", "team")
INTERVALS = tuple(analytics.PERIOD_LENGTHS)


def _time_bound(note: str, **kwargs) -> TimeBound:
    field = TimeBound(**kwargs)
    field.metadata["description"] += " " + note
    return field


def _choice(choices: tuple[str, ...], default: str) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.OneOf(choices, error="Must be one of: {choices}."),
        metadata={"description": f"Default: {default}."},
    )


# --- query arguments ---------------------------------------------------------------------------


class WindowQuerySchema(QuerySchema):
    """`from` (inclusive) and `to` (exclusive; a date includes that whole UTC day)."""

    from_ = _time_bound("Inclusive. Default: 30 days before `to`.", data_key="from")
    to = _time_bound("Exclusive; a date includes that whole UTC day. Default: now.", upper=True)

    @post_load(pass_original=True)
    def complete_window(self, data: dict, original, **kwargs) -> dict:
        if "to" not in data:
            data["to"] = clock.now()
        if "from_" not in data:
            if data["to"] - datetime.min.replace(tzinfo=UTC) < analytics.DEFAULT_WINDOW:
                raise ValidationError("Too early: give `from` too.", "to")
            data["from_"] = data["to"] - analytics.DEFAULT_WINDOW
        # `from=03-02&to=03-01` is inverted although `to` stands for 03-02T00:00 by then.
        to_is_a_date = len(str(original.get("to", "")).strip()) == len("YYYY-MM-DD")
        if data["from_"] > data["to"] or (to_is_a_date and data["from_"] == data["to"]):
            raise ValidationError("Must not be after `to`.", "from")
        return data


class SlaAdherenceQuerySchema(WindowQuerySchema):
    group_by = _choice(SLA_GROUPS, "priority")


class VolumeQuerySchema(WindowQuerySchema):
    interval = _choice(INTERVALS, "day")

    @post_load(pass_original=True)
    def complete_window(self, data: dict, original, **kwargs) -> dict:
        data = super().complete_window(data, original, **kwargs)
        count = analytics.period_count(data["from_"], data["to"], data["interval"])
        if count > analytics.MAX_PERIODS:
            raise ValidationError(
                f"The range spans {count} {data['interval']}s; at most "
                f"{analytics.MAX_PERIODS} periods are allowed: shorten the range"
                + (" or use interval=week." if data["interval"] == "day" else "."),
                "to",
            )
        return data


class AgentPerformanceQuerySchema(WindowQuerySchema):
    team = fields.String(metadata={"description": "Only agents of this team (any case)."})


class AgingQuerySchema(TicketQuerySchema):
    """The ticket list filters (without paging and sorting), and a grouping."""

    class Meta(TicketQuerySchema.Meta):
        exclude = ("page", "per_page", "sort")

    group_by = _choice(AGING_GROUPS, "priority")


# --- reports -----------------------------------------------------------------------------------


def _count(description: str) -> fields.Integer:
    return Integer(metadata={"description": description})


def _nullable_number(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description})


def _adherence(clock_name: str) -> fields.Float:
    return _nullable_number(
        f"{clock_name.title()} adherence: met / (met + breached) x 100, half-up to 2 decimals; "
        "null when nothing is counted."
    )


class SlaMetricsSchema(ResponseSchema):
    tickets = _count("Tickets created in the window.")
    responded = _count("Of them, tickets with a first response.")
    response_met = _count("First response at or before response_due_at.")
    response_breached = _count(
        "First response after response_due_at, or none yet and response_due_at has passed."
    )
    response_adherence_pct = _adherence("response")
    resolved = _count("Tickets with resolved_at (resolved or closed).")
    resolution_met = _count("Resolved at or before resolution_due_at.")
    resolution_breached = _count(
        "Resolved after resolution_due_at, or not resolved and past it (paused time excluded)."
    )
    resolution_adherence_pct = _adherence("resolution")
    open_breached = _count("Tickets still open, in_progress or pending whose SLA is breached.")


class SlaGroupSchema(SlaMetricsSchema):
    # One type per kind of grouping, so that a typed client gets `str | int | None`, not Any.
    key = fields.Raw(
        allow_none=True,
        metadata={
            "description": "What the group is, by `group_by`; null for tickets without an agent "
            "(team, agent) or whose agent has no team.",
            "oneOf": [
                {"type": "string", "description": "The priority, category or team name."},
                {"type": "integer", "description": "The agent's id, or the SLA policy's id."},
            ],
            "nullable": True,
        },
    )


class SlaAdherenceSchema(ResponseSchema):
    from_ = UTCDateTimeField(data_key="from")
    to = UTCDateTimeField()
    group_by = fields.String(validate=validate.OneOf(SLA_GROUPS))
    overall = fields.Nested(SlaMetricsSchema)
    groups = fields.List(
        fields.Nested(SlaGroupSchema),
        metadata={"description": "Groups with at least one ticket in the window."},
    )


class AgedTicketSchema(TicketSchema):
    age_seconds = Integer(metadata={"description": "Whole seconds since created_at."})


class AgingBucketSchema(ResponseSchema):
    bucket = fields.String(
        validate=validate.OneOf([name for name, _ in analytics.AGE_BUCKETS]),
        # Constant names for generated clients' enums (else VALUE_0 for "0-1d"): DAYS_0_1.
        metadata={
            "x-enum-varnames": [
                "DAYS_" + name.replace("d", "").replace("-", "_").replace("+", "_PLUS")
                for name, _ in analytics.AGE_BUCKETS
            ]
        },
    )
    count = _count("Open tickets whose age falls in the bucket (lower bound inclusive).")
    by = fields.Dict(
        keys=fields.String(),
        values=Integer(),
        metadata={
            "description": "Count per group key (groups without tickets left out); "
            f"`{analytics.NO_KEY}` for tickets without a team."
        },
    )


class AgingSchema(ResponseSchema):
    as_of = UTCDateTimeField()
    total_open = _count("Open, in_progress and pending tickets matching the filters.")
    average_age_seconds = _nullable_number("Null when there is no open ticket.")
    buckets = fields.List(
        fields.Nested(AgingBucketSchema),
        metadata={"description": "Always the five buckets 0-1d, 1-3d, 3-7d, 7-30d, 30d+."},
    )
    oldest = fields.List(
        fields.Nested(AgedTicketSchema), metadata={"description": "The 5 oldest open tickets."}
    )


class VolumePointSchema(ResponseSchema):
    period_start = UTCDateTimeField(metadata={"description": "Midnight UTC (Monday for weeks)."})
    created = _count("Tickets created in the period (within the window).")
    resolved = _count("Tickets whose resolved_at is in the period (within the window).")
    backlog = _count("Tickets open at the end of the period (or at `to`, if earlier).")


class VolumeSchema(ResponseSchema):
    interval = fields.String(validate=validate.OneOf(INTERVALS))
    series = fields.List(
        fields.Nested(VolumePointSchema),
        metadata={"description": "Every day or ISO week that meets the window, in order."},
    )


class AgentPerformanceRowSchema(ResponseSchema):
    agent_id = Integer()
    name = fields.String()
    team = fields.String(allow_none=True)
    assigned = _count("Tickets assigned to the agent and created in the window.")
    resolved = _count("Of them, tickets with resolved_at.")
    open_now = _count("Open, in_progress and pending tickets assigned now (any creation time).")
    avg_first_response_seconds = _nullable_number(
        "Average first_response_at - created_at over responded tickets; null if none."
    )
    avg_resolution_seconds = _nullable_number(
        "Average resolved_at - created_at over resolved tickets; null if none."
    )
    response_adherence_pct = _adherence("response")
    resolution_adherence_pct = _adherence("resolution")
    load_pct = _nullable_number(
        "open_now / max_open_tickets x 100, to 2 decimals; null when max_open_tickets is 0."
    )


class AgentPerformanceSchema(ResponseSchema):
    from_ = UTCDateTimeField(data_key="from")
    to = UTCDateTimeField()
    agents = fields.List(fields.Nested(AgentPerformanceRowSchema))
