"""Sessions that end when they should (API.md section 2): logout ends every token and stream
of a session; a password change ends the user's other sessions; deactivation, deletion and a
role change end the user's streams within a second; a deleted user's tokens never come back."""

import time

import pytest

from tests.conftest import PASSWORD
from tests.helpers import assert_problem, bearer
from tests.test_auth import login, me, refresh, tokens_for
from tests.test_events import open_stream  # noqa: F401  (fixture)


def _closed_within(stream, seconds: float) -> tuple[float, list[str]]:
    """Read `stream` until it ends; how long that took and the blocks it sent."""
    started = time.monotonic()
    blocks = list(stream.blocks(timeout=seconds + 2))
    return time.monotonic() - started, blocks


def _assert_stream_ended(stream, within: float = 1.0) -> None:
    elapsed, blocks = _closed_within(stream, within)
    assert any("Stream closed" in block for block in blocks), blocks
    assert elapsed < within, elapsed


def _stream_token(client, access_token: str) -> str:
    response = client.post("/api/events/token", headers=bearer(access_token))
    assert response.status_code == 201
    return response.get_json()["token"]


def test_a_deleted_users_tokens_never_authenticate_the_next_user_created(client, admin, auth):
    created = client.post(
        "/api/users",
        json={"email": "x1@example.com", "name": "X1", "password": PASSWORD, "role": "requester"},
        headers=auth(admin),
    )
    x1 = created.get_json()
    x1_tokens = login(client, "x1@example.com").get_json()
    assert (
        client.post("/api/auth/logout", headers=bearer(x1_tokens["access_token"])).status_code
        == 204
    )
    assert client.delete(f"/api/users/{x1['id']}", headers=auth(admin)).status_code == 204
    y1 = client.post(
        "/api/users",
        json={"email": "y1@example.com", "name": "Y1", "password": PASSWORD, "role": "admin"},
        headers=auth(admin),
    ).get_json()
    assert y1["id"] > x1["id"]  # never the deleted user's id, on SQLite too
    assert_problem(me(client, x1_tokens["access_token"]), 401)
    assert_problem(refresh(client, x1_tokens["refresh_token"]), 401)


def test_a_deleted_users_live_tokens_stop_working_at_once(client, admin, make_user, auth):
    doomed = make_user("requester")
    doomed_tokens = tokens_for(client, doomed)
    assert client.delete(f"/api/users/{doomed.id}", headers=auth(admin)).status_code == 204
    assert_problem(me(client, doomed_tokens["access_token"]), 401)
    assert_problem(refresh(client, doomed_tokens["refresh_token"]), 401)


def test_logout_ends_every_token_and_stream_of_the_session(client, open_stream, requester):  # noqa: F811
    session = tokens_for(client, requester)
    other_session = tokens_for(client, requester)
    refreshed = refresh(client, session["refresh_token"]).get_json()["access_token"]
    stream_token = _stream_token(client, refreshed)
    header_stream = open_stream("/api/events", bearer(refreshed))
    token_stream = open_stream(f"/api/events?token={stream_token}", {})

    assert client.post("/api/auth/logout", headers=bearer(session["access_token"])).status_code
    for token in (session["access_token"], refreshed):
        assert_problem(me(client, token), 401, "revoked")
    assert_problem(refresh(client, session["refresh_token"]), 401, "revoked")
    assert_problem(client.get(f"/api/events?token={stream_token}"), 401)
    _assert_stream_ended(header_stream)
    _assert_stream_ended(token_stream)
    # Another session of the same user goes on.
    assert me(client, other_session["access_token"]).status_code == 200


def test_changing_ones_own_password_ends_the_other_sessions_only(client, open_stream, requester):  # noqa: F811
    current, other = tokens_for(client, requester), tokens_for(client, requester)
    other_stream = open_stream("/api/events", bearer(other["access_token"]))
    current_stream = open_stream("/api/events", bearer(current["access_token"]))
    response = client.patch(
        f"/api/users/{requester.id}",
        json={"password": "a-brand-new-password"},
        headers=bearer(current["access_token"]),
    )
    assert response.status_code == 200
    assert_problem(me(client, other["access_token"]), 401)
    assert_problem(refresh(client, other["refresh_token"]), 401)
    _assert_stream_ended(other_stream)
    assert me(client, current["access_token"]).get_json()["id"] == requester.id
    assert refresh(client, current["refresh_token"]).status_code == 200
    assert not any("Stream closed" in block for block in current_stream.blocks(timeout=0.5))


def test_a_password_reset_by_an_admin_ends_every_session(client, admin, auth, requester):
    first, second = tokens_for(client, requester), tokens_for(client, requester)
    response = client.patch(
        f"/api/users/{requester.id}", json={"password": "reset-by-admin-1"}, headers=auth(admin)
    )
    assert response.status_code == 200
    for session in (first, second):
        assert_problem(me(client, session["access_token"]), 401)
        assert_problem(refresh(client, session["refresh_token"]), 401)
    login = client.post(
        "/api/auth/login", json={"email": requester.email, "password": "reset-by-admin-1"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"role": "requester"}], ids=["deactivated", "demoted"]
)
def test_deactivation_and_a_role_change_end_open_streams(
    client,
    open_stream,  # noqa: F811
    admin,
    manager,
    auth,
    change,
):
    stream_token = _stream_token(client, auth(manager)["Authorization"][7:])
    streams = [
        open_stream("/api/events", auth(manager)),
        open_stream(f"/api/events?token={stream_token}", {}),
    ]
    response = client.patch(f"/api/users/{manager.id}", json=change, headers=auth(admin))
    assert response.status_code == 200, response.get_json()
    for stream in streams:
        _assert_stream_ended(stream)


def test_deactivation_ends_sessions_for_good(client, admin, auth, requester):
    session = tokens_for(client, requester)
    client.patch(f"/api/users/{requester.id}", json={"is_active": False}, headers=auth(admin))
    client.patch(f"/api/users/{requester.id}", json={"is_active": True}, headers=auth(admin))
    # Reactivated, the user logs in again: the old session stays ended.
    assert_problem(me(client, session["access_token"]), 401)
    assert_problem(refresh(client, session["refresh_token"]), 401)


def test_deleting_a_user_ends_their_open_streams(client, open_stream, admin, make_user, auth):  # noqa: F811
    doomed = make_user("agent")
    stream = open_stream("/api/events", auth(doomed))
    assert client.delete(f"/api/users/{doomed.id}", headers=auth(admin)).status_code == 204
    _assert_stream_ended(stream)


def test_an_unrelated_change_leaves_streams_open(client, open_stream, admin, manager, auth):  # noqa: F811
    stream = open_stream("/api/events", auth(manager))
    client.patch(f"/api/users/{manager.id}", json={"name": "Renamed"}, headers=auth(admin))
    assert not any("Stream closed" in block for block in stream.blocks(timeout=0.5))
