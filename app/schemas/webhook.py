"""Webhook schemas: the subscription (its secret only where it is created or rotated), create and
partial update, and the delivery log."""

from marshmallow import ValidationError, fields, validate, validates

from app.models.webhook import DELIVERY_STATUSES, EVENT_TYPES
from app.schemas.common import (
    PageQuerySchema,
    ResponseSchema,
    Schema,
    UTCDateTimeField,
    page_schema,
)
from app.services.webhook_targets import MAX_URL_LENGTH

EVENTS_DESCRIPTION = 'Event types to deliver, or ["*"] for all of them.'


def _events_field(**kwargs) -> fields.List:
    return fields.List(
        fields.String(
            validate=validate.OneOf((*EVENT_TYPES, "*")),
            # Constant names for generated clients' enums (else VALUE_8 for "*").
            metadata={
                "x-enum-varnames": [*(e.upper().replace(".", "_") for e in EVENT_TYPES), "ALL"]
            },
        ),
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": EVENTS_DESCRIPTION},
        **kwargs,
    )


def _url_field(**kwargs) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=MAX_URL_LENGTH),
        metadata={"description": "http or https; a private or loopback target gets 422."},
        **kwargs,
    )


SECRET = {
    "load_only": True,
    "validate": validate.Length(min=16, max=128),
    "metadata": {"description": "Signs the deliveries; generated when left out."},
}


class EventsRuleMixin:
    @validates("events")
    def validate_events(self, value: list[str], **kwargs) -> None:
        if "*" in value and len(value) > 1:
            raise ValidationError('"*" already means every event type; send it alone.')
        if len(set(value)) != len(value):
            raise ValidationError("An event type is listed twice.")


class WebhookSchema(ResponseSchema):
    id = fields.Integer(dump_only=True)
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    is_active = fields.Boolean()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class WebhookWithSecretSchema(WebhookSchema):
    """As created, or after rotate-secret: the only responses that show the secret."""

    secret = fields.String()


class WebhookCreateSchema(EventsRuleMixin, Schema):
    url = _url_field(required=True)
    events = _events_field(required=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    is_active = fields.Boolean(load_default=True)
    secret = fields.String(**SECRET)


class WebhookUpdateSchema(EventsRuleMixin, Schema):
    """Partial: fields left out are unchanged."""

    url = _url_field()
    events = _events_field()
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    is_active = fields.Boolean()
    secret = fields.String(**SECRET)


class WebhookQuerySchema(PageQuerySchema):
    pass


class DeliverySchema(ResponseSchema):
    id = fields.Integer()
    event_id = fields.Integer(allow_none=True)
    event_type = fields.String()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    next_attempt_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    delivered_at = UTCDateTimeField(allow_none=True)


WebhookPageSchema = page_schema(WebhookSchema, "WebhookPage")
DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPage")
