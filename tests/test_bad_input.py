"""Hostile input gets a clear 4xx problem+json, never a 500."""

import pytest

from tests.conftest import PASSWORD


def _assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["detail"]


def test_deeply_nested_json_is_a_400(client, admin, auth):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/tickets", data=body, headers={**auth(admin), "Content-Type": "application/json"}
    )
    _assert_problem(response, 400)


def test_invalid_utf8_body_is_a_400(client, admin, auth):
    response = client.post(
        "/api/tickets",
        data=b'{"title": "\xff\xfe", "description": "x"}',
        headers={**auth(admin), "Content-Type": "application/json"},
    )
    _assert_problem(response, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_refused(client, admin, auth, content_type):
    response = client.post(
        "/api/tickets",
        data='{"title": "t", "description": "d"}',
        headers={**auth(admin), "Content-Type": content_type},
    )
    assert response.status_code in (400, 415, 422)
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/tickets", headers=auth(admin)).get_json()["total"] == 0


def test_huge_per_page_and_long_q_are_422(client, admin, auth):
    _assert_problem(client.get("/api/tickets?per_page=1000000", headers=auth(admin)), 422)
    _assert_problem(client.get("/api/tickets?q=" + "word " * 200, headers=auth(admin)), 422)


def test_deeply_nested_login_body_is_a_400_and_login_still_works(client, make_user):
    make_user("agent", email="nested@example.com")
    body = '{"email": "nested@example.com", "password": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = client.post(
        "/api/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 400)
    ok = client.post("/api/auth/login", json={"email": "nested@example.com", "password": PASSWORD})
    assert ok.status_code == 200
