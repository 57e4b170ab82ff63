"""The project's Schema dumps exactly as marshmallow's own loop does (app/schemas/common.py)."""

from types import SimpleNamespace

import marshmallow as ma
from marshmallow import fields

from app.schemas.common import Schema


class Shouting(fields.String):
    """A field that reads its value its own way."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return str(getattr(obj, attr, "")).upper()


class Inner(Schema):
    id = fields.Integer()


class Sample(Schema):
    id = fields.Integer()
    title = fields.String(data_key="headline")
    alias = fields.String(attribute="nickname")
    absent = fields.String()
    defaulted = fields.String(dump_default="fallback")
    computed = fields.Method("_twice")
    loud = Shouting()
    inner = fields.Nested(Inner, allow_none=True)
    many = fields.List(fields.Nested(Inner))

    def _twice(self, obj):
        return (obj["id"] if isinstance(obj, dict) else obj.id) * 2


def marshmallow_dump(schema, obj, many=False):
    return ma.Schema._serialize(schema, obj, many=many)


def test_dump_matches_marshmallows_loop_for_every_kind_of_field():
    objects = [
        SimpleNamespace(
            id=3,
            title="hi",
            nickname="al",
            loud="psst",
            inner=SimpleNamespace(id=7),
            many=[SimpleNamespace(id=1)],
        ),
        SimpleNamespace(id=4, title="yo", inner=None, many=[], defaulted="set"),
    ]
    schema = Sample()
    dumped = schema.dump(objects, many=True)
    assert dumped == marshmallow_dump(schema, objects, many=True)
    assert dumped[0] == {
        "id": 3,
        "headline": "hi",
        "alias": "al",
        "defaulted": "fallback",
        "computed": 6,
        "loud": "PSST",
        "inner": {"id": 7},
        "many": [{"id": 1}],
    }
    assert "absent" not in dumped[0]
    assert dumped[1]["defaulted"] == "set" and dumped[1]["inner"] is None


def test_dicts_dump_as_with_marshmallow():
    schema = Sample()
    data = {"id": 1, "title": "t", "inner": {"id": 2}, "many": []}
    assert schema.dump(data) == marshmallow_dump(schema, data)
    assert schema.dump(data)["inner"] == {"id": 2}
