"""User schemas: one dump schema, a create and a partial update schema, list arguments."""

from marshmallow import fields, pre_load, validate

from app.models.user import ROLES
from app.schemas.common import (
    Integer,
    PageQuerySchema,
    ResponseSchema,
    Schema,
    UTCDateTimeField,
    one_of_list,
    page_schema,
    sort_field,
)

USER_SORTS = ("name", "email", "created_at")


class UserSchema(ResponseSchema):
    id = Integer(dump_only=True)
    email = fields.Email()
    name = fields.String()
    role = fields.String()
    department = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    is_active = fields.Boolean()
    email_notifications = fields.Boolean(
        metadata={"description": "Whether the user gets notification mails."}
    )
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class LowercaseEmailMixin:
    """E-mail addresses are case-insensitive: store and compare them lower-case."""

    @pre_load
    def normalise_email(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip().lower()}
        return data


class UserCreateSchema(LowercaseEmailMixin, Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(load_default="requester", validate=validate.OneOf(ROLES))
    department = fields.String(allow_none=True, validate=validate.Length(max=120))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=256)
    )
    is_active = fields.Boolean(load_default=True)
    email_notifications = fields.Boolean(load_default=True)


class UserUpdateSchema(LowercaseEmailMixin, Schema):
    """Partial: fields left out are unchanged."""

    email = fields.Email(validate=validate.Length(max=254))
    name = fields.String(validate=validate.Length(min=1, max=120))
    role = fields.String(validate=validate.OneOf(ROLES))
    department = fields.String(allow_none=True, validate=validate.Length(max=120))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=256))
    is_active = fields.Boolean()
    email_notifications = fields.Boolean()


class UserQuerySchema(PageQuerySchema):
    role = one_of_list(ROLES)
    is_active = fields.Boolean()
    q = fields.String(validate=validate.Length(max=200))
    sort = sort_field(USER_SORTS)


UserPageSchema = page_schema(UserSchema, "UserPage")
