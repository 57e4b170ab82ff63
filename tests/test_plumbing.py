"""Cross-cutting HTTP behaviour: problem+json errors, body limits, OpenAPI, CORS, health."""

import pytest
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from app.models.user import User
from tests.helpers import assert_problem

SPA_ORIGIN = "http://localhost:5173"
ALLOWED_HEADERS = {"authorization", "content-type", "if-match", "idempotency-key", "last-event-id"}
EXPOSED_HEADERS = {"etag", "location", "retry-after", "x-request-id"}


def header_set(response, name: str) -> set[str]:
    return {part.strip().lower() for part in response.headers.get(name, "").split(",") if part}


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/users/1/whatever", "/favicon.ico"])
def test_unknown_route_gets_404_problem(client, path):
    body = assert_problem(client.get(path), 404)
    assert body["title"] == "Not Found"
    assert set(body) == {"type", "title", "status", "detail"}


def test_wrong_method_gets_405_problem(client):
    response = client.delete("/api/auth/login")
    body = assert_problem(response, 405)
    assert body["title"] == "Method Not Allowed"
    assert "POST" in response.headers["Allow"]


def test_body_over_one_mebibyte_gets_413_and_creates_nothing(client, admin, auth):
    padding = "x" * (1024 * 1024)
    body = {"email": "big@example.com", "name": padding, "password": "longenough"}
    response = client.post("/api/users", json=body, headers=auth(admin))
    assert assert_problem(response, 413)["title"] == "Request Entity Too Large"
    assert db.session.query(User).count() == 1


@pytest.mark.parametrize("path", ["/api/users", "/api/auth/login"])
def test_invalid_json_body_gets_400_problem(client, admin, auth, path):
    response = client.post(
        path, data='{"email": "a@b.c",', content_type="application/json", headers=auth(admin)
    )
    body = assert_problem(response, 400, "json")
    assert "errors" not in body
    assert db.session.query(User).count() == 1


def test_unknown_body_field_gets_422_naming_it(client):
    body = {"email": "a@example.com", "password": "whatever1", "remember_me": True}
    problem = assert_problem(client.post("/api/auth/login", json=body), 422, "remember_me")
    assert problem["errors"] == {"remember_me": ["Unknown field."]}


def test_openapi_spec_declares_bearer_auth_and_the_endpoints(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    schemes = spec["components"]["securitySchemes"]
    bearer_names = [
        name
        for name, scheme in schemes.items()
        if scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    ]
    assert len(bearer_names) == 1
    assert {"/api/users", "/api/agents", "/api/auth/login"} <= set(spec["paths"])
    assert spec["paths"]["/api/users"]["get"]["security"] == [{bearer_names[0]: []}]
    assert "security" not in spec["paths"]["/api/auth/login"]["post"]


def test_interactive_docs_are_served(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert "swagger" in response.get_data(as_text=True).lower()


def preflight(client, origin: str, headers: str = ", ".join(sorted(ALLOWED_HEADERS))):
    return client.options(
        "/api/users",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_cors_preflight_from_the_spa_allows_the_contract_headers(client):
    response = preflight(client, SPA_ORIGIN)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert header_set(response, "Access-Control-Allow-Headers") == ALLOWED_HEADERS
    assert "patch" in header_set(response, "Access-Control-Allow-Methods")


def test_cors_preflight_refuses_headers_outside_the_contract(client):
    response = preflight(client, SPA_ORIGIN, "Authorization, X-Api-Key")
    assert "x-api-key" not in header_set(response, "Access-Control-Allow-Headers")


def test_cors_response_exposes_etag_location_and_retry_after(client, admin, auth):
    response = client.get(f"/api/users/{admin.id}", headers={**auth(admin), "Origin": SPA_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert header_set(response, "Access-Control-Expose-Headers") >= EXPOSED_HEADERS


def test_cors_other_origin_gets_no_allow_origin(client, admin, auth):
    evil = "http://evil.example"
    assert "Access-Control-Allow-Origin" not in preflight(client, evil).headers
    response = client.get("/api/users", headers={**auth(admin), "Origin": evil})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Headers" not in preflight(client, evil).headers


def test_health_reports_ok_without_a_token(client, app):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "version": app.config["API_VERSION"],
        "worker": "late",  # no worker runs here (tests/test_worker.py starts some)
    }


def test_health_reports_503_when_the_database_is_down(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    assert "connection refused" not in response.get_data(as_text=True)


def test_unexpected_error_gets_500_problem_without_internals():
    app = create_app("testing")

    @app.get("/api/explode")
    def explode():
        raise RuntimeError("SELECT password_hash FROM users WHERE id = 1")

    response = app.test_client().get("/api/explode")
    body = assert_problem(response, 500)
    assert body["title"] == "Internal Server Error"
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "SELECT", "password_hash", "explode", ".py"):
        assert leak not in text


def test_each_worker_keeps_a_pool_of_ten_connections(app):
    # Five (SQLAlchemy's default) made every sixth concurrent request open and close a
    # PostgreSQL connection of its own under load.
    with app.app_context():
        assert db.engine.pool.size() == 10


def test_json_fields_come_in_the_schema_order(client, admin, auth, make_ticket):
    ticket = make_ticket(admin)
    body = client.get(f"/api/tickets/{ticket.id}", headers=auth(admin)).get_json()
    assert list(body)[:4] == ["id", "title", "description", "status"]


def test_json_responses_keep_flasks_encoding_of_what_orjson_leaves_out(app):
    from datetime import UTC, datetime
    from decimal import Decimal

    moment = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    encoded = app.json.dumps({"at": moment, "amount": Decimal("1.50"), 7: "seven"})
    assert app.json.loads(encoded) == {
        "at": "Mon, 04 May 2026 09:30:00 GMT",
        "amount": "1.50",
        "7": "seven",
    }
    assert app.json.loads(app.json.dumps({"big": 2**70})) == {"big": 2**70}
    body = app.json.response({"name": "Zoë", "items": [1, 2]}).get_data()
    assert body == '{"name":"Zoë","items":[1,2]}\n'.encode()
