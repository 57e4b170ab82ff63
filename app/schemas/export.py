"""The incremental export's page (API.md section 13)."""

from marshmallow import fields, validate

from app.models.ticket import Ticket
from app.schemas.common import QuerySchema, ResponseSchema
from app.schemas.ticket import TicketSchema

DELETED_TICKET = {
    "type": "object",
    "description": "A ticket deleted since the cursor.",
    "properties": {"id": {"type": "integer"}, "deleted": {"type": "boolean", "enum": [True]}},
    "required": ["id", "deleted"],
}


class ExportItem(fields.Field):
    """A ticket as staff see it, or `{"id", "deleted": true}` for a deleted one."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, Ticket):
            return TicketSchema().dump(value)
        return value


class ExportQuerySchema(QuerySchema):
    cursor = fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={"description": "`next_cursor` of the previous page; none: from the start."},
    )


class ExportPageSchema(ResponseSchema):
    items = fields.List(
        ExportItem(metadata={"oneOf": [{"$ref": "#/components/schemas/Ticket"}, DELETED_TICKET]})
    )
    next_cursor = fields.String(
        metadata={"description": "Where the next poll goes on from (also on the last page)."}
    )
    end_of_stream = fields.Boolean(
        metadata={"description": "True when no change after this page has committed yet."}
    )
