"""Login, refresh and logout bodies."""

from marshmallow import fields, validate

from app.schemas.agent import MeSchema
from app.schemas.common import Integer, ResponseSchema, Schema


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class TokenSchema(ResponseSchema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = Integer()
    user = fields.Nested(MeSchema)


class RefreshedSchema(ResponseSchema):
    access_token = fields.String()
    expires_in = Integer()


class LogoutSchema(Schema):
    refresh_token = fields.String(validate=validate.Length(max=4096))
