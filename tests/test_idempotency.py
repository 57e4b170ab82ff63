"""Idempotency-Key on POST /api/tickets and POST /api/messages: replay, conflicts, expiry, races."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.auth import IdempotencyKey
from app.models.event import Event
from app.models.ticket import Activity, Message, Ticket
from app.services import idempotency
from tests.concurrency import meet_after, run_concurrently
from tests.helpers import assert_problem, stored

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICKET = {"title": "Laptop will not boot", "description": "Black screen after the logo."}


def count(model) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def rows() -> dict:
    return {
        model.__tablename__: count(model)
        for model in (Ticket, Message, Activity, Event, IdempotencyKey)
    }


def with_key(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


def post_ticket(client, headers, key=None, payload=TICKET):
    headers = with_key(headers, key) if key is not None else headers
    return client.post("/api/tickets", json=payload, headers=headers)


def post_message(client, headers, ticket_id, key=None, body="Same here"):
    headers = with_key(headers, key) if key is not None else headers
    payload = {"ticket_id": ticket_id, "body": body}
    return client.post("/api/messages", json=payload, headers=headers)


def test_replayed_ticket_post_returns_the_first_response_without_creating_anything(
    client, auth, requester
):
    first = post_ticket(client, auth(requester), "key-1")
    assert first.status_code == 201, first.get_json()
    after_first = rows()
    assert after_first["tickets"] == 1 and after_first["idempotency_keys"] == 1
    replay = post_ticket(client, auth(requester), "key-1")
    assert replay.status_code == 201
    assert replay.get_json() == first.get_json()
    assert replay.headers["Location"] == first.headers["Location"]
    assert replay.mimetype == "application/json"
    assert rows() == after_first


def test_replayed_message_post_returns_the_first_response_without_creating_anything(
    client, auth, agent, make_ticket, requester
):
    ticket = make_ticket(requester)
    first = post_message(client, auth(agent.user), ticket.id, "msg-key")
    assert first.status_code == 201, first.get_json()
    after_first = rows()
    ticket_after_first = stored(Ticket, ticket.id)
    assert after_first["ticket_messages"] == 1
    replay = post_message(client, auth(agent.user), ticket.id, "msg-key")
    assert (replay.status_code, replay.get_json()) == (201, first.get_json())
    assert replay.headers["Location"] == first.headers["Location"]
    assert rows() == after_first
    assert stored(Ticket, ticket.id) == ticket_after_first
    assert ticket_after_first["message_count"] == 1


def test_replay_is_the_first_response_even_after_the_object_changed(client, auth, agent):
    first = post_ticket(client, auth(agent.user), "k")
    ticket_id = first.get_json()["id"]
    patched = client.patch(
        f"/api/tickets/{ticket_id}", json={"title": "Changed"}, headers=auth(agent.user)
    )
    assert patched.status_code == 200
    replay = post_ticket(client, auth(agent.user), "k")
    assert replay.get_json() == first.get_json()
    assert replay.get_json()["title"] == TICKET["title"]


def test_posts_without_a_key_are_not_deduplicated(client, auth, requester):
    assert post_ticket(client, auth(requester)).status_code == 201
    assert post_ticket(client, auth(requester)).status_code == 201
    assert count(Ticket) == 2
    assert count(IdempotencyKey) == 0


@pytest.mark.parametrize(
    "second", [{**TICKET, "title": "Another title"}, {**TICKET, "priority": "high"}]
)
def test_same_key_with_a_different_ticket_body_gets_422(client, auth, requester, second):
    assert post_ticket(client, auth(requester), "key-1").status_code == 201
    before = rows()
    response = post_ticket(client, auth(requester), "key-1", payload=second)
    body = assert_problem(response, 422, "Idempotency-Key")
    assert "Idempotency-Key" in body["errors"]
    assert rows() == before


def test_same_key_with_a_different_message_body_gets_422(
    client, auth, agent, make_ticket, requester
):
    ticket = make_ticket(requester)
    assert post_message(client, auth(agent.user), ticket.id, "k", body="one").status_code == 201
    before = rows()
    response = post_message(client, auth(agent.user), ticket.id, "k", body="two")
    assert_problem(response, 422, "Idempotency-Key")
    assert rows() == before


def test_same_key_from_a_different_user_creates_a_new_ticket(client, auth, make_user):
    alice, bob = make_user("requester"), make_user("requester")
    first = post_ticket(client, auth(alice), "shared-key")
    second = post_ticket(client, auth(bob), "shared-key")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["id"] != second.get_json()["id"]
    assert second.get_json()["requester_id"] == bob.id
    assert count(Ticket) == 2


def test_one_key_on_tickets_and_on_messages_are_separate(client, auth, agent):
    ticket = post_ticket(client, auth(agent.user), "same").get_json()
    message = post_message(client, auth(agent.user), ticket["id"], "same")
    assert message.status_code == 201, message.get_json()
    assert message.get_json()["body"] == "Same here"
    assert (count(Ticket), count(Message)) == (1, 1)


def test_key_of_255_characters_is_accepted(client, auth, requester):
    key = "k" * 255
    assert post_ticket(client, auth(requester), key).status_code == 201
    assert post_ticket(client, auth(requester), key).status_code == 201
    assert count(Ticket) == 1


def test_key_may_hold_spaces_and_punctuation(client, auth, requester):
    key = "order 42 / retry #1: ¿ok?"
    first = post_ticket(client, auth(requester), key)
    assert post_ticket(client, auth(requester), key).get_json() == first.get_json()
    assert count(Ticket) == 1


@pytest.mark.parametrize("endpoint", ["tickets", "messages"])
@pytest.mark.parametrize("key", ["k" * 256, "", "nul\x00byte"])
def test_key_over_255_characters_or_empty_or_with_nul_gets_422_and_creates_nothing(
    client, auth, agent, make_ticket, requester, endpoint, key
):
    ticket = make_ticket(requester)
    if endpoint == "tickets":
        response = post_ticket(client, auth(agent.user), key)
    else:
        response = post_message(client, auth(agent.user), ticket.id, key)
    assert "Idempotency-Key" in assert_problem(response, 422)["errors"]
    assert (count(Ticket), count(Message), count(IdempotencyKey)) == (1, 0, 0)


def test_key_is_replayed_within_24_hours(client, auth, requester, freeze_time):
    freeze_time(T0)
    first = post_ticket(client, auth(requester), "day-key")
    freeze_time(T0 + timedelta(hours=23, minutes=59))
    replay = post_ticket(client, auth(requester), "day-key")
    assert replay.get_json() == first.get_json()
    assert count(Ticket) == 1


def test_key_older_than_24_hours_is_not_replayed(client, auth, requester, freeze_time):
    freeze_time(T0)
    first = post_ticket(client, auth(requester), "day-key")
    freeze_time(T0 + timedelta(hours=24, seconds=1))
    again = post_ticket(client, auth(requester), "day-key")
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] != first.get_json()["id"]
    assert again.headers.get("Idempotent-Replayed") is None
    assert count(Ticket) == 2
    # The new response is the one remembered from now on.
    freeze_time(T0 + timedelta(hours=25))
    assert post_ticket(client, auth(requester), "day-key").get_json() == again.get_json()
    assert count(Ticket) == 2


def test_expired_key_may_come_with_a_different_body(client, auth, requester, freeze_time):
    freeze_time(T0)
    post_ticket(client, auth(requester), "day-key")
    freeze_time(T0 + timedelta(days=2))
    other = {**TICKET, "title": "Something else"}
    response = post_ticket(client, auth(requester), "day-key", payload=other)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "Something else"


@pytest.fixture
def both_pass_the_first_lookup(monkeypatch):
    """Both requests find no stored response before either goes on: both create, and the
    database has to pick the winner."""
    meet_after(monkeypatch, idempotency, "find")


def response_of(response) -> tuple:
    return response.status_code, response.get_json(), response.headers.get("Location")


def test_racing_ticket_posts_with_one_key_create_one_ticket(
    app, auth, requester, both_pass_the_first_lookup
):
    headers = with_key(auth(requester), "race-key")
    first, second = run_concurrently(app, [lambda c: response_of(post_ticket(c, headers))] * 2)
    assert first[0] == second[0] == 201, (first, second)
    assert first == second
    assert first[1]["id"] == second[1]["id"]
    assert (count(Ticket), count(IdempotencyKey)) == (1, 1)
    assert count(Activity) == 1  # the loser's `created` activity went with its rollback
    assert stored(Ticket, first[1]["id"]) is not None


def test_racing_message_posts_with_one_key_create_one_message(
    app, auth, agent, make_ticket, requester, both_pass_the_first_lookup
):
    ticket_id = make_ticket(requester).id  # read here: the threads must not share a session
    headers = with_key(auth(agent.user), "race-key")
    first, second = run_concurrently(
        app, [lambda c: response_of(post_message(c, headers, ticket_id))] * 2
    )
    assert first[0] == second[0] == 201, (first, second)
    assert first == second
    assert count(Message) == 1
    assert stored(Ticket, ticket_id)["message_count"] == 1


def test_racing_posts_without_lookup_interleaving_create_one_ticket(app, auth, requester):
    headers = with_key(auth(requester), "race-key")
    results = run_concurrently(app, [lambda c: response_of(post_ticket(c, headers))] * 4)
    assert {result[0] for result in results} == {201}
    assert len({result[1]["id"] for result in results}) == 1
    assert count(Ticket) == 1
