"""Security headers, request ids and the structured request log."""

import json
import logging

from tests.conftest import PASSWORD


def test_every_response_has_nosniff_and_referrer_policy(client):
    for path in ("/health", "/api/openapi.json", "/api/nowhere"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_authenticated_api_responses_are_not_cached(client, admin, auth):
    response = client.get("/api/users", headers=auth(admin))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_docs_page_has_a_strict_csp_and_no_cdn(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    page = response.get_data(as_text=True)
    assert "http" not in page  # every asset comes from this server
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-ID": "bad id with spaces and {braces}"})
    assert len(generated.headers["X-Request-ID"]) == 32


def _log_lines(caplog):
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "servicedesk.request"
    ]


def test_one_json_log_line_per_request_without_secrets(client, caplog, make_user, auth):
    logger = logging.getLogger("servicedesk.request")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="servicedesk.request"):
            user = make_user("agent", email="logme@example.com")
            login = client.post(
                "/api/auth/login", json={"email": "logme@example.com", "password": PASSWORD}
            )
            token = login.get_json()["access_token"]
            client.post(
                "/api/tickets",
                json={"title": "Secret title", "description": "body-text-xyz"},
                headers={**auth(user), "X-Request-ID": "req-42"},
            )
    finally:
        logger.removeHandler(caplog.handler)
    lines = _log_lines(caplog)
    assert [line["path"] for line in lines] == ["/api/auth/login", "/api/tickets"]
    ticket_line = lines[1]
    assert ticket_line["method"] == "POST" and ticket_line["status"] == 201
    assert ticket_line["user_id"] == user.id and ticket_line["request_id"] == "req-42"
    assert isinstance(ticket_line["duration_ms"], float)
    everything = caplog.text + json.dumps(lines)
    for secret in (PASSWORD, token, "body-text-xyz", "Secret title"):
        assert secret not in everything


def test_an_overlong_url_gets_a_problem_414(client, admin, auth):
    response = client.get("/api/tickets?q=" + "x" * 9000, headers=auth(admin))
    assert response.status_code == 414
    assert response.mimetype == "application/problem+json"
