"""Headers a browser client relies on: CORS exposure, Vary, Retry-After, spec caching."""

from app.services.dispatcher import reset_dispatchers

SPA_ORIGIN = "http://localhost:5173"
EXPOSED = {
    "etag",
    "location",
    "retry-after",
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
}


def header_set(response, name: str) -> set[str]:
    return {part.strip().lower() for part in response.headers.get(name, "").split(",") if part}


def test_a_browser_may_read_request_id_and_rate_limit_headers(client, admin, auth):
    response = client.get("/api/users", headers={**auth(admin), "Origin": SPA_ORIGIN})
    assert response.status_code == 200
    assert header_set(response, "Access-Control-Expose-Headers") >= EXPOSED
    assert response.headers["X-RateLimit-Limit"].isdigit()


def test_api_responses_vary_by_origin_for_every_kind_of_origin(client, admin, auth):
    preflight = {"Access-Control-Request-Method": "GET"}
    for origin in (SPA_ORIGIN, "http://evil.example", None):
        headers = {"Origin": origin} if origin else {}
        response = client.get("/api/users", headers={**auth(admin), **headers})
        assert response.headers.getlist("Vary") == ["Origin"], origin
        response = client.options("/api/users", headers={**headers, **preflight})
        assert "origin" in header_set(response, "Vary"), origin


def test_error_responses_vary_by_origin(client):
    response = client.get("/api/tickets", headers={"Origin": SPA_ORIGIN})
    assert response.status_code == 401
    assert "origin" in header_set(response, "Vary")


def test_success_has_no_retry_after_but_rate_limit_headers(client, admin, auth):
    response = client.get("/api/users", headers=auth(admin))
    assert response.status_code == 200
    assert "Retry-After" not in response.headers
    assert int(response.headers["X-RateLimit-Remaining"]) >= 0


def test_event_streams_send_the_rate_limit_headers_they_declare(client, admin, auth, make_ticket):
    ticket = make_ticket(admin)
    for path in ("/api/events", f"/api/tickets/{ticket.id}/events"):
        response = client.get(path, headers=auth(admin), buffered=False)
        try:
            assert response.status_code == 200, path
            assert response.mimetype == "text/event-stream"
            assert int(response.headers["X-RateLimit-Limit"]) == 100000, path
            assert 0 <= int(response.headers["X-RateLimit-Remaining"]) < 100000, path
            assert int(response.headers["X-RateLimit-Reset"]) > 0, path
            assert "Retry-After" not in response.headers
        finally:
            reset_dispatchers()  # ends the stream
            response.close()


def test_too_many_requests_keeps_retry_after(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1 per minute")
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    assert client.post("/api/auth/login", json=body).status_code == 401
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_spec_is_cacheable_and_revalidates_with_its_etag(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    etag = response.headers["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    assert header_set(response, "Cache-Control") == {"public", "max-age=300"}
    again = client.get("/api/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/api/openapi.json", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.get_json()["openapi"].startswith("3.")
