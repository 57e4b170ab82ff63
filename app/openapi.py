"""apispec's marshmallow converter, made precise for generated typed clients.

- A nullable nested object is a nullable reference, `allOf: [{$ref}]` with `nullable: true`
  (OpenAPI 3.0), which openapi-typescript and openapi-python-client both read as "the type or
  null"; apispec's own `anyOf` puts an anonymous `{type: object}` beside the reference.
- A response schema (app.schemas.common.ResponseSchema) lists its always-present fields in
  `required`, so a typed client does not make every field optional.
"""

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import get_fields, resolve_schema_instance
from apispec.ext.marshmallow.openapi import OpenAPIConverter


class ClientReadyConverter(OpenAPIConverter):
    def field2nullable(self, field, ret) -> dict:
        if field.allow_none and "$ref" in ret and self.openapi_version.major == 3:
            if self.openapi_version.minor < 1:
                return {"allOf": [{"$ref": ret.pop("$ref")}], "nullable": True}
        return super().field2nullable(field, ret)

    def schema2jsonschema(self, schema) -> dict:
        jsonschema = super().schema2jsonschema(schema)
        instance = resolve_schema_instance(schema)
        optional = getattr(instance, "OPENAPI_OPTIONAL_FIELDS", None)
        if optional is not None:  # a response schema: see ResponseSchema
            required = [
                field.data_key or name
                for name, field in get_fields(instance).items()
                if not field.load_only and name not in optional
            ]
            if required:
                jsonschema["required"] = required
        return jsonschema


class ClientReadyPlugin(MarshmallowPlugin):
    Converter = ClientReadyConverter
