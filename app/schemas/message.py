"""Message, activity and timeline schemas."""

from marshmallow import fields, validate

from app.models.ticket import ACTIONS
from app.schemas.common import (
    MAX_ID,
    Integer,
    PageQuerySchema,
    ResponseSchema,
    Schema,
    UTCDateTimeField,
    no_nul_characters,
    page_schema,
)

BODY_RULES = [validate.Length(min=1, max=10000), no_nul_characters]


class AuthorSchema(ResponseSchema):
    id = Integer()
    name = fields.String()
    role = fields.String()


class ActorSchema(ResponseSchema):
    id = Integer()
    name = fields.String()


class MessageSchema(ResponseSchema):
    id = Integer()
    ticket_id = Integer()
    author_id = Integer()
    author = fields.Nested(AuthorSchema)
    body = fields.String()
    is_internal = fields.Boolean()
    created_at = UTCDateTimeField()
    edited_at = UTCDateTimeField(allow_none=True)


class MessageCreateSchema(Schema):
    ticket_id = Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    body = fields.String(required=True, validate=BODY_RULES)
    is_internal = fields.Boolean(load_default=False)


class MessageUpdateSchema(Schema):
    """Partial, like every PUT/PATCH: a body left out leaves the message unchanged."""

    body = fields.String(validate=BODY_RULES)


class ActivitySchema(ResponseSchema):
    id = Integer()
    ticket_id = Integer()
    actor_id = Integer(allow_none=True)
    actor = fields.Nested(ActorSchema, allow_none=True)
    action = fields.String(validate=validate.OneOf(ACTIONS))
    field = fields.String(allow_none=True)
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)
    created_at = UTCDateTimeField()


class MessageQuerySchema(PageQuerySchema):
    after_id = Integer(validate=validate.Range(min=0, max=MAX_ID))


class TimelineItemSchema(ResponseSchema):
    """A message or an activity, told apart by `type`; the other kind's fields are absent."""

    OPENAPI_OPTIONAL_FIELDS = (
        "author_id",
        "author",
        "body",
        "is_internal",
        "edited_at",
        "actor_id",
        "actor",
        "action",
        "field",
        "old_value",
        "new_value",
    )

    type = fields.String(validate=validate.OneOf(("message", "activity")))
    id = Integer()
    ticket_id = Integer()
    created_at = UTCDateTimeField()
    author_id = Integer()
    author = fields.Nested(AuthorSchema)
    body = fields.String()
    is_internal = fields.Boolean()
    edited_at = UTCDateTimeField(allow_none=True)
    actor_id = Integer(allow_none=True)
    actor = fields.Nested(ActorSchema, allow_none=True)
    action = fields.String()
    field = fields.String(allow_none=True)
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)


MessagePageSchema = page_schema(MessageSchema, "MessagePage")
TimelinePageSchema = page_schema(TimelineItemSchema, "TimelinePage")
