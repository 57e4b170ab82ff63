"""Limits that hold against abuse: login attempts per address and per account, open streams per
user, numbers that are not numbers, and a production secret too short to be safe."""

import pytest

from app import create_app
from config import ProductionConfig
from tests.helpers import assert_problem
from tests.test_auth import login, tokens_for
from tests.test_events import open_stream  # noqa: F401  (fixture)


def test_one_address_gets_429_after_its_limit_across_all_emails(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ADDRESS", "5 per minute")
    statuses = [
        login(client, f"sprayed{n}@example.com", "wrong-password", "10.9.9.9").status_code
        for n in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    response = login(client, "sprayed99@example.com", "wrong-password", "10.9.9.9")
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    # Another address is not held back.
    assert login(client, "sprayed1@example.com", "wrong-password", "10.9.9.10").status_code == 401


def test_one_account_gets_429_after_its_limit_across_all_addresses(
    app, client, requester, monkeypatch
):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ACCOUNT", "4 per hour")
    statuses = [
        login(client, requester.email, "wrong-password", f"10.0.0.{n}").status_code
        for n in range(1, 7)
    ]
    assert statuses == [401] * 4 + [429] * 2
    # Even the right password waits: the account is what is being guessed.
    assert login(client, requester.email, address="10.0.1.1").status_code == 429
    assert login(client, "someone-else@example.com", "x" * 8, "10.0.0.1").status_code == 401


def test_a_user_may_hold_only_so_many_streams(app, client, requester, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_MAX_STREAMS_PER_USER", 3)
    headers = {"Authorization": "Bearer " + tokens_for(client, requester)["access_token"]}
    streams = [_opened(client, headers) for _ in range(3)]
    response = client.get("/api/events", headers=headers)
    assert_problem(response, 429, "open event streams")
    assert int(response.headers["Retry-After"]) > 0
    # Closing one frees its place.
    streams.pop().close()
    streams.append(_opened(client, headers))
    for stream in reversed(streams):  # their request contexts are stacked on this thread
        stream.close()


def _opened(client, headers):
    """An open stream, read up to its first line, on this thread (so that it can be closed)."""
    response = client.get("/api/events", headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert next(iter(response.response)).startswith(b"retry:")
    return response


def test_another_users_streams_do_not_count(
    app,
    client,
    open_stream,  # noqa: F811
    requester,
    agent,
    auth,
    monkeypatch,
):
    monkeypatch.setitem(app.config, "EVENTS_MAX_STREAMS_PER_USER", 1)
    open_stream("/api/events", auth(requester))
    open_stream("/api/events", auth(agent.user))
    assert_problem(client.get("/api/events", headers=auth(requester)), 429)


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A1", "1_0", "+1", "%201"])
def test_last_event_id_of_other_digits_gets_422(client, requester, auth, value):
    response = client.get(f"/api/events?last_event_id={value}", headers=auth(requester))
    assert_problem(response, 422, "Last-Event-ID")


def test_a_5000_digit_number_in_a_json_body_gets_400(client, requester, auth):
    huge = "7" * 5000
    unauthenticated = client.post(
        "/api/auth/login",
        data='{"email": "a@example.com", "password": ' + huge + "}",
        content_type="application/json",
    )
    assert_problem(unauthenticated, 400, "not valid JSON")
    message = client.post(
        "/api/messages",
        data='{"ticket_id": ' + huge + ', "body": "hi"}',
        content_type="application/json",
        headers=auth(requester),
    )
    assert_problem(message, 400, "not valid JSON")


@pytest.mark.parametrize("value", ["%D9%A1", "%C2%B2", "1_0", "%201", "9" * 5000])
def test_a_query_integer_of_other_digits_gets_422(client, requester, auth, value):
    assert_problem(client.get(f"/api/tickets?page={value}", headers=auth(requester)), 422)


@pytest.mark.parametrize("value", ["%D9%A1", "%C2%B2", "1_0", "9" * 5000])
def test_a_list_of_ids_with_other_digits_gets_422(client, requester, auth, value):
    response = client.get(f"/api/tickets?requester_id=1,{value}", headers=auth(requester))
    assert_problem(response, 422)


def test_a_path_id_of_other_digits_is_not_found(client, requester, auth, make_ticket):
    ticket = make_ticket(requester)
    assert client.get(f"/api/tickets/{ticket.id}", headers=auth(requester)).status_code == 200
    arabic_one = "%D9%A1"  # int() reads it as 1
    assert_problem(client.get(f"/api/tickets/{arabic_one}", headers=auth(requester)), 404)


@pytest.mark.parametrize("secret", ["x", "s" * 31])
def test_production_refuses_a_secret_shorter_than_32_characters(monkeypatch, secret):
    monkeypatch.setattr(ProductionConfig, "JWT_SECRET_KEY", secret)
    with pytest.raises(SystemExit, match="at least 32 characters"):
        create_app("production")


def test_production_accepts_a_32_character_secret(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "JWT_SECRET_KEY", "s" * 32)
    assert create_app("production").config["JWT_SECRET_KEY"] == "s" * 32
