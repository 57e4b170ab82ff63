"""Ticket schemas: dump (with SLA state), create, partial update, list arguments."""

from marshmallow import fields, validate

from app.models.ticket import CATEGORIES, PRIORITIES, STATUSES
from app.schemas.common import (
    ID_RANGE,
    CommaList,
    Integer,
    PageQuerySchema,
    QuerySchema,
    ResponseSchema,
    Schema,
    TimeBound,
    UTCDateTimeField,
    no_nul_characters,
    one_of_list,
    page_schema,
    sort_field,
)
from app.schemas.sla import PolicySummarySchema

TICKET_SORTS = ("created_at", "updated_at", "priority", "resolution_due_at", "status")
SLA_STATUSES = ("met", "breached", "at_risk", "on_track")


class RequesterSummarySchema(ResponseSchema):
    id = Integer()
    name = fields.String()
    email = fields.String()


class AgentSummarySchema(ResponseSchema):
    id = Integer()
    name = fields.String()
    team = fields.String(allow_none=True)


class TicketSchema(ResponseSchema):
    id = Integer()
    title = fields.String()
    description = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    requester_id = Integer()
    requester = fields.Nested(RequesterSummarySchema)
    assigned_agent_id = Integer(allow_none=True)
    assigned_agent = fields.Nested(AgentSummarySchema, allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    first_response_at = UTCDateTimeField(allow_none=True)
    resolved_at = UTCDateTimeField(allow_none=True)
    closed_at = UTCDateTimeField(allow_none=True)
    response_due_at = UTCDateTimeField()
    resolution_due_at = UTCDateTimeField()
    # Set by sla.annotate where tickets are returned: they move with the clock.
    response_breached = fields.Boolean(dump_only=True)
    resolution_breached = fields.Boolean(dump_only=True)
    sla_status = fields.String(dump_only=True, validate=validate.OneOf(SLA_STATUSES))
    sla_paused_seconds = Integer()
    sla_policy = fields.Nested(PolicySummarySchema)
    message_count = fields.Method(
        "_message_count",
        metadata={
            "type": "integer",
            "description": "Public messages for a requester, all for staff",
        },
    )

    def _message_count(self, ticket) -> int:
        # Staff see every message; anyone else (and any unmarked object) only public ones.
        if getattr(ticket, "viewer_is_staff", False):
            return ticket.message_count
        return ticket.public_message_count


class SlaAlertSchema(ResponseSchema):
    """The data of `ticket.sla_warning` and `ticket.sla_breached` events (staff only)."""

    ticket = fields.Nested(TicketSchema)
    clock = fields.String(validate=validate.OneOf(("response", "resolution")))
    due_at = UTCDateTimeField()


TITLE_RULES = [validate.Length(min=1, max=200), no_nul_characters]
DESCRIPTION_RULES = [validate.Length(min=1, max=20000), no_nul_characters]


class TicketCreateSchema(Schema):
    title = fields.String(required=True, validate=TITLE_RULES)
    description = fields.String(required=True, validate=DESCRIPTION_RULES)
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    category = fields.String(load_default="other", validate=validate.OneOf(CATEGORIES))
    requester_id = Integer(validate=ID_RANGE)
    assigned_agent_id = Integer(allow_none=True, validate=ID_RANGE)
    status = fields.String(validate=validate.OneOf(STATUSES))


class TicketUpdateSchema(Schema):
    """Partial: fields left out are unchanged."""

    title = fields.String(validate=TITLE_RULES)
    description = fields.String(validate=DESCRIPTION_RULES)
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    assigned_agent_id = Integer(allow_none=True, validate=ID_RANGE)
    requester_id = Integer(
        validate=ID_RANGE,
        metadata={"description": "Read-only: sending it is 403.", "readOnly": True},
    )


class AssignedAgentFilter(CommaList):
    """Agent ids, or `none` for unassigned tickets."""

    def __init__(self, **kwargs):
        super().__init__(
            fields.String(
                validate=validate.Regexp(r"^(none|[1-9][0-9]{0,9})$", error="A number or none.")
            ),
            **kwargs,
        )


class TicketFilterSchema(QuerySchema):
    status = one_of_list(STATUSES)
    priority = one_of_list(PRIORITIES)
    category = one_of_list(CATEGORIES)
    assigned_agent_id = AssignedAgentFilter()
    requester_id = CommaList(Integer(validate=ID_RANGE))
    q = fields.String(validate=validate.Length(min=1, max=200))
    created_from = TimeBound()
    created_to = TimeBound(upper=True)
    sla_status = one_of_list(SLA_STATUSES)
    breached = fields.Boolean()


class TicketQuerySchema(PageQuerySchema, TicketFilterSchema):
    sort = sort_field(TICKET_SORTS, default="-created_at")


class TicketCountSchema(ResponseSchema):
    count = Integer()


TicketPageSchema = page_schema(TicketSchema, "TicketPage", dumped=True)
