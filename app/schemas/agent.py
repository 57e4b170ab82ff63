"""Agent schemas."""

from marshmallow import ValidationError, fields, validate, validates_schema

from app.models.ticket import CATEGORIES
from app.models.user import AVAILABILITIES
from app.schemas.common import (
    ID_RANGE,
    Integer,
    PageQuerySchema,
    ResponseSchema,
    Schema,
    UTCDateTimeField,
    one_of_list,
    page_schema,
    sort_field,
)
from app.schemas.user import LowercaseEmailMixin, UserSchema

AGENT_SORTS = ("name", "team")


class AgentSchema(ResponseSchema):
    id = Integer()
    user_id = Integer()
    name = fields.String()
    email = fields.String()
    team = fields.String(allow_none=True)
    skills = fields.List(fields.String())
    availability = fields.String()
    max_open_tickets = Integer()
    open_tickets = Integer()
    is_active = fields.Boolean()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class MeSchema(UserSchema):
    agent = fields.Nested(AgentSchema, allow_none=True)


class AgentUpdateSchema(Schema):
    team = fields.String(allow_none=True, validate=validate.Length(max=60))
    skills = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)))
    availability = fields.String(validate=validate.OneOf(AVAILABILITIES))
    max_open_tickets = Integer(validate=validate.Range(min=0, max=1000))
    is_active = fields.Boolean()


class AgentCreateSchema(LowercaseEmailMixin, AgentUpdateSchema):
    """Either `user_id` of an existing user, or `name`, `email` and `password` of a new one."""

    user_id = Integer(validate=ID_RANGE)
    name = fields.String(validate=validate.Length(min=1, max=120))
    email = fields.Email(validate=validate.Length(max=254))
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=256))

    @validates_schema
    def user_or_new_user(self, data, **kwargs):
        new_user_fields = [name for name in ("name", "email", "password") if name in data]
        if "user_id" in data and new_user_fields:
            raise ValidationError(
                "Give either user_id or the new user's fields, not both.", new_user_fields[0]
            )
        if "user_id" not in data:
            missing = {
                name: ["Required when user_id is not given."]
                for name in ("name", "email", "password")
                if name not in data
            }
            if missing:
                raise ValidationError(missing)


class AgentQuerySchema(PageQuerySchema):
    team = fields.String()
    availability = one_of_list(AVAILABILITIES)
    skill = fields.String(validate=validate.OneOf(CATEGORIES))
    is_active = fields.Boolean()
    sort = sort_field(AGENT_SORTS)


AgentPageSchema = page_schema(AgentSchema, "AgentPage")
