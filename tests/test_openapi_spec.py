"""The OpenAPI document is precise enough for generated typed clients (API.md section 1)."""

import pytest

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def spec(app):
    with app.test_client() as client:
        return client.get("/api/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(spec, response: dict) -> dict:
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_every_error_response_has_a_problem_body(spec):
    bodiless = []
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status == "503" and path == "/health":
                continue  # the health report itself, as application/json
            if status == "default" or status >= "400":
                if resolve(spec, response).get("content") != PROBLEM_CONTENT:
                    bodiless.append(f"{method.upper()} {path} {status}")
    assert bodiless == []


def test_operations_declare_the_errors_they_enforce(spec):
    ticket = spec["paths"]["/api/tickets/{ticket_id}"]
    assert set(ticket["put"]["responses"]) >= {
        "400", "401", "403", "404", "409", "412", "413", "422", "429", "default"
    }  # fmt: skip
    users = spec["paths"]["/api/users"]
    assert {"401", "403", "422", "429"} <= set(users["get"]["responses"])
    assert "400" not in users["get"]["responses"]  # no body to be malformed
    health = spec["paths"]["/health"]["get"]["responses"]
    assert "429" not in health  # exempt from rate limits


def test_refusals_declare_retry_after(spec):
    login_429 = spec["paths"]["/api/auth/login"]["post"]["responses"]["429"]
    assert login_429["description"] == "Too many attempts"
    assert login_429["headers"]["Retry-After"]["schema"]["type"] == "integer"
    for path, method, operation in operations(spec):
        for status in ("429", "503"):
            if status in operation["responses"]:
                headers = operation["responses"][status].get("headers", {})
                assert "Retry-After" in headers, f"{method} {path} {status}"


def schema(spec, name: str) -> dict:
    return spec["components"]["schemas"][name]


def nullable_ref(name: str) -> dict:
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "nullable": True}


def test_nullable_nested_objects_are_nullable_references(spec):
    assert schema(spec, "Ticket")["properties"]["assigned_agent"] == nullable_ref("AgentSummary")
    assert schema(spec, "AgedTicket")["properties"]["assigned_agent"] == nullable_ref(
        "AgentSummary"
    )
    assert schema(spec, "Me")["properties"]["agent"] == nullable_ref("Agent")
    for name, component in spec["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            assert {"type": "object", "nullable": True} not in prop.get("anyOf", []), (name, field)


def typed(prop: dict) -> bool:
    if "type" in prop or "$ref" in prop:
        return True
    alternatives = prop.get("allOf") or prop.get("oneOf") or prop.get("anyOf")
    return bool(alternatives) and all(typed(item) for item in alternatives)


def test_every_field_has_a_type(spec):
    untyped = [
        f"{name}.{field}"
        for name, component in spec["components"]["schemas"].items()
        for field, prop in component.get("properties", {}).items()
        if not typed(prop)
    ]
    assert untyped == []
    key = schema(spec, "SlaGroup")["properties"]["key"]
    assert [branch["type"] for branch in key["oneOf"]] == ["string", "integer"]
    assert "agent's id" in key["oneOf"][1]["description"]
    assert key["nullable"] is True


def response_schema_names(spec) -> set[str]:
    names = set()
    for _path, _method, operation in operations(spec):
        for status, response in operation["responses"].items():
            content = resolve(spec, response).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if status.startswith("2") and ref:
                names.add(ref.rsplit("/", 1)[1])
    return names


def test_response_schemas_require_their_always_present_fields(spec):
    names = response_schema_names(spec)
    assert {"Ticket", "TicketPage", "Me", "Token", "User", "SlaAdherence"} <= names
    for name in names | {"AgentSummary", "RequesterSummary", "SlaGroup", "AgedTicket"}:
        component = schema(spec, name)
        assert component.get("required"), name
    ticket = schema(spec, "Ticket")
    assert ticket["required"] == list(ticket["properties"])
    timeline_item = schema(spec, "TimelineItem")
    assert timeline_item["required"] == ["type", "id", "ticket_id", "created_at"]
    assert schema(spec, "Problem")["required"] == ["type", "title", "status", "detail"]


def test_load_schemas_keep_their_own_required(spec):
    assert sorted(schema(spec, "TicketCreate")["required"]) == ["description", "title"]
    assert "required" not in schema(spec, "TicketUpdate")
    assert "password" not in schema(spec, "User")["properties"]


def test_a_ticket_and_me_have_exactly_the_required_fields(spec, client, admin, auth, make_ticket):
    ticket = make_ticket(admin)
    body = client.get(f"/api/tickets/{ticket.id}", headers=auth(admin)).get_json()
    assert list(body) == schema(spec, "Ticket")["required"]
    assert body["assigned_agent"] is None
    me = client.get("/api/auth/me", headers=auth(admin)).get_json()
    assert set(me) == set(schema(spec, "Me")["required"])


def query_parameter(spec, path: str, name: str) -> dict:
    parameters = spec["paths"][path]["get"]["parameters"]
    return next(parameter for parameter in parameters if parameter["name"] == name)


def test_sort_without_a_default_has_no_null(spec):
    for path in ("/api/users", "/api/agents"):
        sort = query_parameter(spec, path, "sort")["schema"]
        assert "default" not in sort and "nullable" not in sort, path
        assert None not in sort["enum"] and "name" in sort["enum"], path
    assert query_parameter(spec, "/api/tickets", "sort")["schema"]["default"] == "-created_at"


def test_an_empty_sort_means_the_default_order(client, admin, auth, make_ticket):
    response = client.get("/api/users?sort=", headers=auth(admin))
    assert response.status_code == 200, response.get_json()
    assert [user["id"] for user in response.get_json()["items"]] == [admin.id]
    assert client.get("/api/agents?sort=", headers=auth(admin)).status_code == 200
    first, second = make_ticket(admin), make_ticket(admin)
    response = client.get("/api/tickets?sort=", headers=auth(admin))
    assert response.status_code == 200
    assert [ticket["id"] for ticket in response.get_json()["items"]] == [second.id, first.id]
    assert client.get("/api/users?sort=nope", headers=auth(admin)).status_code == 422


def header_names(parameters: list) -> set[str]:
    return {parameter["name"] for parameter in parameters if parameter["in"] == "header"}


ITEM_PATHS = (
    "/api/tickets/{ticket_id}",
    "/api/users/{user_id}",
    "/api/agents/{agent_id}",
    "/api/messages/{message_id}",
    "/api/webhooks/{webhook_id}",
    "/api/sla/calendars/{calendar_id}",
    "/api/sla/policies/{policy_id}",
)
CREATE_PATHS = ("/api/tickets", "/api/users", "/api/agents", "/api/messages", "/api/webhooks")


def test_versioned_objects_declare_etag_and_if_match(spec):
    for path in ITEM_PATHS:
        item = spec["paths"][path]
        assert "ETag" in item["get"]["responses"]["200"]["headers"], path
        for method in ("put", "patch"):
            operation = item[method]
            assert "If-Match" in header_names(operation["parameters"]), (path, method)
            assert "ETag" in operation["responses"]["200"]["headers"], (path, method)
            assert "412" in operation["responses"], (path, method)
        assert "If-Match" not in header_names(item["get"].get("parameters", []))


def test_creates_declare_location_and_idempotency(spec):
    for path in CREATE_PATHS:
        created = spec["paths"][path]["post"]["responses"]["201"]["headers"]
        assert created["Location"]["schema"] == {"type": "string"}, path
        idempotent = path in ("/api/tickets", "/api/messages")
        assert ("Idempotent-Replayed" in created) is idempotent, path
        parameters = spec["paths"][path]["post"].get("parameters", [])
        assert ("Idempotency-Key" in header_names(parameters)) is idempotent, path


def test_streams_declare_last_event_id_and_lists_rate_limit_headers(spec):
    for path in ("/api/events", "/api/tickets/{ticket_id}/events"):
        assert "Last-Event-ID" in header_names(spec["paths"][path]["get"]["parameters"]), path
    rate_limit = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    for path in ("/api/users", "/api/events", "/api/tickets/{ticket_id}/events"):
        ok = spec["paths"][path]["get"]["responses"]["200"]
        assert set(ok["headers"]) == rate_limit, path
    stream = spec["paths"]["/api/events"]["get"]["responses"]["200"]["content"]
    event = stream["text/event-stream"]["schema"]
    assert event["required"] == ["event", "data"]
    assert {"ticket.created", "ticket.sla_breached", "reset", "error"} <= set(
        event["properties"]["event"]["enum"]
    )
    assert "headers" not in spec["paths"]["/health"]["get"]["responses"]["200"]


def test_enums_that_are_not_identifiers_have_constant_names(spec):
    parameters = spec["paths"]["/api/tickets"]["get"]["parameters"]
    sort = next(item["schema"] for item in parameters if item["name"] == "sort")
    names = dict(zip(sort["enum"], sort["x-enum-varnames"], strict=True))
    assert names["-created_at"] == "CREATED_AT_DESC"
    assert names["priority"] == "PRIORITY"
    bucket = schema(spec, "AgingBucket")["properties"]["bucket"]
    assert bucket["x-enum-varnames"] == [
        "DAYS_0_1",
        "DAYS_1_3",
        "DAYS_3_7",
        "DAYS_7_30",
        "DAYS_30_PLUS",
    ]
    events = schema(spec, "WebhookCreate")["properties"]["events"]["items"]
    names = dict(zip(events["enum"], events["x-enum-varnames"], strict=True))
    assert names["*"] == "ALL"
    assert names["ticket.sla_breached"] == "TICKET_SLA_BREACHED"


def test_spec_has_a_server_and_the_ticket_workflow(spec):
    assert spec["servers"] == [{"url": "/", "description": "This server"}]
    for path, method in (
        ("/api/tickets", "get"),
        ("/api/tickets", "post"),
        ("/api/tickets/{ticket_id}", "put"),
        ("/api/tickets/{ticket_id}", "patch"),
    ):
        description = spec["paths"][path][method]["description"]
        assert "`open` ⇄ `in_progress` ⇄ `pending`" in description, (path, method)
        assert "gets 409" in description
