"""/api/auth: login, refresh, logout, me, token checks and login rate limiting."""

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, decode_token

from tests.conftest import PASSWORD
from tests.helpers import assert_problem, bearer


def login(client, email: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    return client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def tokens_for(client, user) -> dict:
    response = login(client, user.email)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def me(client, token: str):
    return client.get("/api/auth/me", headers=bearer(token))


def refresh(client, token: str):
    return client.post("/api/auth/refresh", headers=bearer(token))


def test_login_returns_bearer_tokens_and_the_user(client, requester, app):
    body = tokens_for(client, requester)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds() == 900
    assert decode_token(body["access_token"])["type"] == "access"
    assert decode_token(body["refresh_token"])["type"] == "refresh"
    user = body["user"]
    assert (user["id"], user["email"], user["role"]) == (requester.id, requester.email, "requester")
    assert user["agent"] is None
    assert not {"password", "password_hash"} & set(user)


def test_login_of_an_agent_includes_its_profile_with_open_ticket_count(
    client, make_agent, make_ticket, requester
):
    agent = make_agent(team="Network", skills=["network"])
    make_ticket(requester, assigned_agent_id=agent.id, status="in_progress")
    make_ticket(requester, assigned_agent_id=agent.id, status="resolved")
    profile = tokens_for(client, agent.user)["user"]["agent"]
    assert profile["id"] == agent.id
    assert profile["user_id"] == agent.user_id
    assert (profile["team"], profile["skills"]) == ("Network", ["network"])
    assert profile["open_tickets"] == 1


def test_unknown_email_and_wrong_password_get_the_same_401(client, requester):
    unknown = assert_problem(login(client, "nobody@example.com"), 401)
    wrong = assert_problem(login(client, requester.email, "wrong-password"), 401)
    assert unknown == wrong
    assert "access_token" not in wrong


def test_login_email_is_case_insensitive(client, make_user):
    user = make_user("agent", email="mixed.case@example.com")
    body = login(client, "  Mixed.Case@EXAMPLE.com ").get_json()
    assert body["user"]["id"] == user.id


def test_deactivated_user_cannot_log_in(client, make_user):
    user = make_user("requester", is_active=False)
    refused = assert_problem(login(client, user.email), 401)
    assert refused == assert_problem(login(client, "nobody@example.com"), 401)


def test_deactivating_a_user_invalidates_their_existing_tokens(client, requester, admin, auth):
    tokens = tokens_for(client, requester)
    assert me(client, tokens["access_token"]).status_code == 200
    response = client.patch(
        f"/api/users/{requester.id}", json={"is_active": False}, headers=auth(admin)
    )
    assert response.get_json()["is_active"] is False
    assert_problem(me(client, tokens["access_token"]), 401)
    assert_problem(refresh(client, tokens["refresh_token"]), 401)


def test_refresh_token_gets_a_new_working_access_token(client, manager):
    tokens = tokens_for(client, manager)
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == 900
    assert body["access_token"] != tokens["access_token"]
    assert me(client, body["access_token"]).get_json()["id"] == manager.id


def test_access_token_sent_to_refresh_gets_401(client, manager):
    tokens = tokens_for(client, manager)
    body = assert_problem(refresh(client, tokens["access_token"]), 401)
    assert "access_token" not in body


def test_refresh_token_where_an_access_token_is_due_gets_401(client, admin):
    refresh_token = tokens_for(client, admin)["refresh_token"]
    assert_problem(me(client, refresh_token), 401)
    assert_problem(client.get("/api/users", headers=bearer(refresh_token)), 401)


def test_logout_revokes_the_access_token_and_its_refresh_token(client, agent):
    tokens = tokens_for(client, agent.user)
    response = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(me(client, tokens["access_token"]), 401, "revoked")
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "revoked")


def test_logout_twice_gets_401_the_second_time(client, requester):
    access_token = tokens_for(client, requester)["access_token"]
    assert client.post("/api/auth/logout", headers=bearer(access_token)).status_code == 204
    assert_problem(client.post("/api/auth/logout", headers=bearer(access_token)), 401)


def test_logout_with_the_refresh_token_as_bearer_revokes_it(client, requester):
    tokens = tokens_for(client, requester)
    response = client.post("/api/auth/logout", headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 204
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "revoked")


def test_logout_with_a_refreshed_access_token_revokes_the_refresh_token(client, requester):
    tokens = tokens_for(client, requester)
    refreshed = refresh(client, tokens["refresh_token"]).get_json()["access_token"]
    assert client.post("/api/auth/logout", headers=bearer(refreshed)).status_code == 204
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "revoked")
    assert_problem(me(client, refreshed), 401, "revoked")


def test_logout_with_the_refresh_token_ends_the_access_tokens_of_its_session(client, requester):
    tokens = tokens_for(client, requester)
    refreshed = refresh(client, tokens["refresh_token"]).get_json()["access_token"]
    response = client.post("/api/auth/logout", headers=bearer(tokens["refresh_token"]))
    assert response.status_code == 204
    for token in (tokens["access_token"], refreshed):
        assert_problem(me(client, token), 401, "revoked")
        assert_problem(client.post("/api/auth/logout", headers=bearer(token)), 401, "revoked")


def test_logout_revokes_a_refresh_token_sent_in_the_body(client, requester):
    first, second = tokens_for(client, requester), tokens_for(client, requester)
    response = client.post(
        "/api/auth/logout",
        json={"refresh_token": second["refresh_token"]},
        headers=bearer(first["access_token"]),
    )
    assert response.status_code == 204
    # The sent refresh token's whole session ends, its access token too.
    assert_problem(refresh(client, second["refresh_token"]), 401)
    assert_problem(me(client, second["access_token"]), 401)


def test_logout_ignores_another_users_refresh_token_in_the_body(client, requester, manager):
    mine, theirs = tokens_for(client, requester), tokens_for(client, manager)
    response = client.post(
        "/api/auth/logout",
        json={"refresh_token": theirs["refresh_token"]},
        headers=bearer(mine["access_token"]),
    )
    assert response.status_code == 204
    assert refresh(client, theirs["refresh_token"]).status_code == 200


def test_me_returns_the_current_user(client, make_user):
    user = make_user("manager", department="IT", phone="+1 555 0100")
    body = me(client, tokens_for(client, user)["access_token"]).get_json()
    assert body["id"] == user.id
    assert (body["role"], body["department"], body["phone"]) == ("manager", "IT", "+1 555 0100")
    assert body["agent"] is None
    assert "password" not in body and "password_hash" not in body


def test_me_of_an_agent_includes_its_profile(client, agent, auth):
    body = client.get("/api/auth/me", headers=auth(agent.user)).get_json()
    assert body["agent"]["id"] == agent.id
    assert body["agent"]["open_tickets"] == 0


def _encoded(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _forged_tokens(user) -> dict:
    claims = decode_token(create_access_token(identity=str(user.id)))
    return {
        "alg none": _encoded({"alg": "none", "typ": "JWT"}) + "." + _encoded(claims) + ".",
        "wrong secret": pyjwt.encode(claims, "not-the-secret-" * 4, algorithm="HS256"),
        "expired": create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=-5)),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize("kind", ["alg none", "wrong secret", "expired", "garbage"])
def test_forged_expired_or_garbage_tokens_get_401(client, admin, kind):
    token = _forged_tokens(admin)[kind]
    response = client.get("/api/users", headers=bearer(token))
    body = assert_problem(response, 401)
    assert "items" not in body
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_is_not_trusted_after_the_secret_changes(app, client, admin, monkeypatch):
    token = tokens_for(client, admin)["access_token"]
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    monkeypatch.setitem(app.config, "JWT_SECRET_KEY", "a-rotated-secret-" * 3)
    assert_problem(client.get("/api/auth/me", headers=bearer(token)), 401)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}]
)
def test_missing_bearer_token_gets_401(client, headers):
    assert_problem(client.get("/api/auth/me", headers=headers), 401, "bearer")


@pytest.fixture
def login_limit(app, monkeypatch):
    """The production default: 10 login attempts a minute per client address and e-mail."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "10 per minute")


def _exhaust(client, email: str, address: str = "127.0.0.1") -> None:
    for _ in range(10):
        assert login(client, email, "wrong-password", address).status_code == 401


def test_eleventh_login_attempt_for_one_email_from_one_address_gets_429(
    client, login_limit, requester
):
    _exhaust(client, requester.email)
    response = login(client, requester.email)
    assert_problem(response, 429, "retry after")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "access_token" not in response.get_json()


def test_login_limit_is_per_email_and_per_address(client, login_limit, requester, manager):
    _exhaust(client, requester.email)
    assert login(client, manager.email).status_code == 200
    assert login(client, requester.email, address="10.0.0.2").status_code == 200
    assert_problem(login(client, requester.email.upper()), 429)


def test_oversized_login_body_does_not_reset_the_attempt_count(client, login_limit, requester):
    _exhaust(client, requester.email)
    oversized = client.post(
        "/api/auth/login", data="x" * (1024 * 1024 + 1), content_type="application/json"
    )
    assert_problem(oversized, 413)
    assert_problem(login(client, requester.email), 429)
