"""/api/messages: posting, listing, reading, editing and deleting messages on tickets."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.event import Event
from app.models.ticket import Activity, Message, Ticket
from app.services import tickets as tickets_service
from tests.concurrency import meet_before, run_concurrently
from tests.helpers import assert_problem, stored

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def count(model, *conditions) -> int:
    """Committed rows of `model`, read on a connection of its own."""
    stmt = select(func.count()).select_from(model).where(*conditions)
    with db.engine.connect() as connection:
        return connection.execute(stmt).scalar_one()


def written_rows() -> tuple[int, int, int]:
    return count(Message), count(Activity), count(Event)


def post(client, headers, ticket_id, body="Have you tried turning it off and on?", **extra):
    return client.post(
        "/api/messages", json={"ticket_id": ticket_id, "body": body, **extra}, headers=headers
    )


def posted(client, headers, ticket_id, body="A message", **extra) -> dict:
    response = post(client, headers, ticket_id, body, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def activities(ticket_id: int, action: str) -> list[dict]:
    table = Activity.__table__
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(table)
            .where(table.c.ticket_id == ticket_id, table.c.action == action)
            .order_by(table.c.id)
        )
        return [dict(row) for row in rows.mappings()]


@pytest.fixture
def ticket(make_ticket, requester):
    return make_ticket(requester)


# --- POST /api/messages -------------------------------------------------------------------


def test_staff_message_is_created_with_location_and_the_caller_as_author(
    client, auth, agent, ticket, freeze_time
):
    freeze_time(T0)
    response = post(client, auth(agent.user), ticket.id, "Looking into it.")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ticket_id"] == ticket.id
    assert body["author_id"] == agent.user.id
    assert body["author"] == {"id": agent.user.id, "name": agent.user.name, "role": "agent"}
    assert (body["body"], body["is_internal"], body["edited_at"]) == (
        "Looking into it.",
        False,
        None,
    )
    assert body["created_at"] == "2026-03-02T09:00:00Z"
    assert response.headers["Location"].endswith(f"/api/messages/{body['id']}")
    row = stored(Message, body["id"])
    assert (row["ticket_id"], row["author_id"], row["body"]) == (
        ticket.id,
        agent.user.id,
        "Looking into it.",
    )
    followed = client.get(response.headers["Location"], headers=auth(agent.user))
    assert followed.get_json() == body


def test_author_is_the_caller_even_when_another_author_id_is_sent(
    client, auth, requester, agent, ticket
):
    response = post(client, auth(requester), ticket.id, author_id=agent.user.id)
    assert_problem(response, 422)
    assert "author_id" in response.get_json()["errors"]
    assert count(Message) == 0


def test_requester_posts_a_public_message_on_their_own_ticket(client, auth, requester, ticket):
    body = posted(client, auth(requester), ticket.id, "Still broken.")
    assert (body["author_id"], body["is_internal"]) == (requester.id, False)
    assert stored(Message, body["id"])["body"] == "Still broken."


@pytest.mark.parametrize("length", [1, 10000])
def test_message_body_of_1_to_10000_characters_is_accepted(client, auth, agent, ticket, length):
    body = posted(client, auth(agent.user), ticket.id, "x" * length)
    assert len(stored(Message, body["id"])["body"]) == length


@pytest.mark.parametrize("text", ["", "x" * 10001])
def test_message_body_outside_1_to_10000_characters_gets_422(client, auth, agent, ticket, text):
    response = post(client, auth(agent.user), ticket.id, text)
    assert "body" in assert_problem(response, 422)["errors"]
    assert count(Message) == 0


MISSING = object()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"ticket_id": MISSING}, "ticket_id"),
        ({"ticket_id": None}, "ticket_id"),
        ({"ticket_id": 0}, "ticket_id"),
        ({"ticket_id": 2**31}, "ticket_id"),
        ({"ticket_id": 99999999999999999999}, "ticket_id"),
        ({"body": "bad\u0000byte"}, "body"),
        ({"body": MISSING}, "body"),
        ({"body": None}, "body"),
        ({"is_internal": "maybe"}, "is_internal"),
        ({"subject": "Hello"}, "subject"),
    ],
)
def test_invalid_or_unknown_message_fields_get_422_naming_the_field(
    client, auth, agent, ticket, changes, field
):
    payload = {"ticket_id": ticket.id, "body": "Hi", **changes}
    payload = {name: value for name, value in payload.items() if value is not MISSING}
    response = client.post("/api/messages", json=payload, headers=auth(agent.user))
    assert field in assert_problem(response, 422)["errors"]
    assert count(Message) == 0


def test_message_on_an_unknown_ticket_gets_404(client, auth, agent):
    assert_problem(post(client, auth(agent.user), 999), 404)


def test_requester_cannot_post_on_another_requesters_ticket(
    client, auth, make_user, make_ticket, requester
):
    other_ticket = make_ticket(make_user("requester"))
    assert_problem(post(client, auth(requester), other_ticket.id), 404)
    assert written_rows() == (0, 0, 0)


def test_requester_internal_note_gets_403_naming_is_internal_and_writes_nothing(
    client, auth, requester, ticket
):
    before = stored(Ticket, ticket.id)
    response = post(client, auth(requester), ticket.id, "Psst", is_internal=True)
    problem = assert_problem(response, 403, "internal")
    assert list(problem["errors"]) == ["is_internal"]
    assert written_rows() == (0, 0, 0)
    assert stored(Ticket, ticket.id) == before


def test_requester_may_send_is_internal_false(client, auth, requester, ticket):
    assert posted(client, auth(requester), ticket.id, is_internal=False)["is_internal"] is False


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_staff_write_internal_notes(client, auth, make_user, ticket, role):
    body = posted(client, auth(make_user(role)), ticket.id, "Note to self", is_internal=True)
    assert body["is_internal"] is True
    assert stored(Message, body["id"])["is_internal"] is True


@pytest.mark.parametrize("caller", ["requester", "agent"])
def test_posting_on_a_closed_ticket_gets_409_and_writes_nothing(
    client, auth, make_ticket, requester, agent, caller
):
    closed = make_ticket(requester, status="closed", resolved_at=T0, closed_at=T0)
    user = requester if caller == "requester" else agent.user
    before = stored(Ticket, closed.id)
    assert_problem(post(client, auth(user), closed.id), 409, "closed")
    assert written_rows() == (0, 0, 0)
    assert stored(Ticket, closed.id) == before


def test_requesters_public_message_reopens_their_resolved_ticket(
    client, auth, make_ticket, requester, freeze_time
):
    resolved = make_ticket(requester, created_at=T0, status="resolved", resolved_at=T0)
    freeze_time(T0 + timedelta(hours=2))
    posted(client, auth(requester), resolved.id, "It broke again.")
    row = stored(Ticket, resolved.id)
    assert (row["status"], row["resolved_at"]) == ("open", None)
    [reopened] = activities(resolved.id, "reopened")
    assert (reopened["actor_id"], reopened["field"]) == (requester.id, "status")
    assert (reopened["old_value"], reopened["new_value"]) == ("resolved", "open")
    shown = client.get(f"/api/tickets/{resolved.id}", headers=auth(requester)).get_json()
    assert (shown["status"], shown["resolved_at"]) == ("open", None)


@pytest.mark.parametrize("is_internal", [False, True])
def test_staff_message_does_not_reopen_a_resolved_ticket(
    client, auth, make_ticket, requester, agent, is_internal
):
    resolved = make_ticket(requester, status="resolved", resolved_at=T0)
    posted(client, auth(agent.user), resolved.id, is_internal=is_internal)
    assert stored(Ticket, resolved.id)["status"] == "resolved"
    assert activities(resolved.id, "reopened") == []


def test_first_public_staff_message_sets_first_response_once(
    client, auth, agent, manager, requester, ticket, freeze_time
):
    freeze_time(T0)
    posted(client, auth(requester), ticket.id, "Any news?")
    posted(client, auth(agent.user), ticket.id, "Internal only", is_internal=True)
    assert stored(Ticket, ticket.id)["first_response_at"] is None
    freeze_time(T0 + timedelta(minutes=30))
    posted(client, auth(agent.user), ticket.id, "On it.")
    freeze_time(T0 + timedelta(hours=1))
    posted(client, auth(manager), ticket.id, "Me too.")
    assert stored(Ticket, ticket.id)["first_response_at"] == T0 + timedelta(minutes=30)


def test_message_count_is_all_messages_for_staff_and_public_ones_for_the_requester(
    client, auth, agent, requester, ticket
):
    posted(client, auth(requester), ticket.id, "Help")
    posted(client, auth(agent.user), ticket.id, "Hello")
    posted(client, auth(agent.user), ticket.id, "Looks like a fuse", is_internal=True)

    def counts(user) -> tuple[int, int]:
        one = client.get(f"/api/tickets/{ticket.id}", headers=auth(user)).get_json()
        [listed] = client.get("/api/tickets", headers=auth(user)).get_json()["items"]
        return one["message_count"], listed["message_count"]

    assert counts(agent.user) == (3, 3)
    assert counts(requester) == (2, 2)


def test_message_count_drops_when_a_message_is_deleted(client, auth, agent, requester, ticket):
    public = posted(client, auth(agent.user), ticket.id, "Hello")
    note = posted(client, auth(agent.user), ticket.id, "Note", is_internal=True)
    assert client.delete(f"/api/messages/{note['id']}", headers=auth(agent.user)).status_code == 204
    assert (
        client.get(f"/api/tickets/{ticket.id}", headers=auth(agent.user)).get_json()[
            "message_count"
        ]
        == 1
    )
    assert (
        client.delete(f"/api/messages/{public['id']}", headers=auth(agent.user)).status_code == 204
    )
    for user in (agent.user, requester):
        shown = client.get(f"/api/tickets/{ticket.id}", headers=auth(user)).get_json()
        assert shown["message_count"] == 0


# --- GET /api/messages/ticket/{id} ----------------------------------------------------------


def add_message(ticket_id: int, author, at: datetime, body: str, is_internal: bool = False):
    """A message row written straight through the model, at a chosen time."""
    message = Message(
        ticket_id=ticket_id, author_id=author.id, body=body, is_internal=is_internal, created_at=at
    )
    db.session.add(message)
    db.session.commit()
    return message.id


def listed(client, headers, ticket_id, query="") -> dict:
    response = client.get(f"/api/messages/ticket/{ticket_id}{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bodies(page: dict) -> list[str]:
    return [item["body"] for item in page["items"]]


def test_messages_are_listed_oldest_first_by_creation_time(client, auth, agent, ticket):
    # Inserted out of time order: the list follows created_at, not insertion (id) order.
    add_message(ticket.id, agent.user, T0 + timedelta(hours=2), "third")
    add_message(ticket.id, agent.user, T0, "first")
    add_message(ticket.id, agent.user, T0 + timedelta(hours=1), "second")
    page = listed(client, auth(agent.user), ticket.id)
    assert bodies(page) == ["first", "second", "third"]
    assert page["items"][0]["created_at"] == "2026-03-02T09:00:00Z"
    assert page["items"][0]["author"]["id"] == agent.user.id


def test_messages_with_equal_times_are_listed_by_id(client, auth, agent, ticket):
    ids = [add_message(ticket.id, agent.user, T0, f"m{n}") for n in range(3)]
    assert [item["id"] for item in listed(client, auth(agent.user), ticket.id)["items"]] == ids


def test_messages_are_paginated(client, auth, agent, ticket):
    for n in range(5):
        add_message(ticket.id, agent.user, T0 + timedelta(minutes=n), f"m{n}")
    page = listed(client, auth(agent.user), ticket.id, "?per_page=2&page=2")
    assert bodies(page) == ["m2", "m3"]
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 5, 3)
    assert bodies(listed(client, auth(agent.user), ticket.id, "?per_page=2&page=3")) == ["m4"]
    assert bodies(listed(client, auth(agent.user), ticket.id, "?per_page=2&page=4")) == []


@pytest.mark.parametrize(
    "query",
    ["?per_page=101", "?per_page=0", "?page=0", "?after_id=x", "?after_id=99999999999999999999"],
)
def test_invalid_message_list_parameters_get_422(client, auth, agent, ticket, query):
    assert_problem(
        client.get(f"/api/messages/ticket/{ticket.id}{query}", headers=auth(agent.user)), 422
    )


def test_after_id_lists_only_newer_messages(client, auth, agent, ticket):
    ids = [add_message(ticket.id, agent.user, T0 + timedelta(minutes=n), f"m{n}") for n in range(4)]
    page = listed(client, auth(agent.user), ticket.id, f"?after_id={ids[1]}")
    assert bodies(page) == ["m2", "m3"]
    assert page["total"] == 2
    assert listed(client, auth(agent.user), ticket.id, f"?after_id={ids[3]}")["items"] == []
    assert bodies(listed(client, auth(agent.user), ticket.id, "?after_id=0")) == [
        "m0",
        "m1",
        "m2",
        "m3",
    ]


def test_requester_never_sees_internal_notes_in_the_list(client, auth, agent, requester, ticket):
    add_message(ticket.id, requester, T0, "public 1")
    note = add_message(ticket.id, agent.user, T0 + timedelta(minutes=1), "secret", True)
    add_message(ticket.id, agent.user, T0 + timedelta(minutes=2), "public 2")
    add_message(ticket.id, agent.user, T0 + timedelta(minutes=3), "secret 2", True)
    page = listed(client, auth(requester), ticket.id)
    assert bodies(page) == ["public 1", "public 2"]
    assert (page["total"], page["pages"]) == (2, 1)
    newer = listed(client, auth(requester), ticket.id, f"?after_id={note}&per_page=1")
    assert bodies(newer) == ["public 2"]
    assert newer["total"] == 1
    staff_page = listed(client, auth(agent.user), ticket.id)
    assert bodies(staff_page) == ["public 1", "secret", "public 2", "secret 2"]


def test_requester_cannot_list_messages_of_another_requesters_ticket(
    client, auth, make_user, make_ticket, requester, agent
):
    other_ticket = make_ticket(make_user("requester"))
    add_message(other_ticket.id, agent.user, T0, "hello")
    response = client.get(f"/api/messages/ticket/{other_ticket.id}", headers=auth(requester))
    assert_problem(response, 404)


def test_listing_messages_of_an_unknown_ticket_gets_404(client, auth, agent):
    assert_problem(client.get("/api/messages/ticket/999", headers=auth(agent.user)), 404)


# --- GET /api/messages/{id} -----------------------------------------------------------------


def test_get_message_returns_it_with_an_etag(client, auth, agent, requester, ticket):
    created = posted(client, auth(agent.user), ticket.id, "Hello there")
    for user in (agent.user, requester):
        response = client.get(f"/api/messages/{created['id']}", headers=auth(user))
        assert response.status_code == 200
        assert response.get_json() == created
        assert response.headers["ETag"].startswith('"')


def test_requester_gets_404_for_an_internal_note(client, auth, agent, requester, ticket):
    note = posted(client, auth(agent.user), ticket.id, "secret", is_internal=True)
    assert_problem(client.get(f"/api/messages/{note['id']}", headers=auth(requester)), 404)
    assert client.get(f"/api/messages/{note['id']}", headers=auth(agent.user)).status_code == 200


def test_requester_gets_404_for_a_message_on_another_requesters_ticket(
    client, auth, make_user, make_ticket, requester, agent
):
    other_ticket = make_ticket(make_user("requester"))
    message = posted(client, auth(agent.user), other_ticket.id, "hello")
    assert_problem(client.get(f"/api/messages/{message['id']}", headers=auth(requester)), 404)


def test_unknown_message_gets_404(client, auth, agent):
    assert_problem(client.get("/api/messages/999", headers=auth(agent.user)), 404)


# --- PUT/PATCH /api/messages/{id} -----------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_author_edits_a_message_which_sets_edited_at_and_records_an_activity(
    client, auth, agent, ticket, freeze_time, method
):
    freeze_time(T0)
    message = posted(client, auth(agent.user), ticket.id, "Teh fix")
    freeze_time(T0 + timedelta(minutes=5))
    response = getattr(client, method)(
        f"/api/messages/{message['id']}", json={"body": "The fix"}, headers=auth(agent.user)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["body"], body["edited_at"]) == ("The fix", "2026-03-02T09:05:00Z")
    assert body["created_at"] == message["created_at"]
    row = stored(Message, message["id"])
    assert (row["body"], row["edited_at"]) == ("The fix", T0 + timedelta(minutes=5))
    [edited] = activities(ticket.id, "message_edited")
    assert (edited["actor_id"], edited["old_value"], edited["new_value"]) == (
        agent.user.id,
        "Teh fix",
        "The fix",
    )
    assert edited["about_internal_note"] is False


def test_admin_edits_someone_elses_message(client, auth, admin, requester, ticket):
    message = posted(client, auth(requester), ticket.id, "typo")
    response = client.patch(
        f"/api/messages/{message['id']}", json={"body": "fixed"}, headers=auth(admin)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["author_id"] == requester.id
    assert stored(Message, message["id"])["body"] == "fixed"
    assert activities(ticket.id, "message_edited")[0]["actor_id"] == admin.id


@pytest.mark.parametrize("editor_role", ["agent", "manager", "requester"])
def test_others_than_the_author_or_an_admin_get_403_on_edit(
    client, auth, make_user, agent, requester, ticket, editor_role
):
    message = posted(client, auth(agent.user), ticket.id, "original")
    editor = requester if editor_role == "requester" else make_user(editor_role)
    response = client.patch(
        f"/api/messages/{message['id']}", json={"body": "hijacked"}, headers=auth(editor)
    )
    assert_problem(response, 403)
    assert stored(Message, message["id"])["body"] == "original"
    assert stored(Message, message["id"])["edited_at"] is None
    assert activities(ticket.id, "message_edited") == []


def test_requester_editing_an_internal_note_gets_404(client, auth, agent, requester, ticket):
    note = posted(client, auth(agent.user), ticket.id, "secret", is_internal=True)
    for method in (client.put, client.patch):
        response = method(
            f"/api/messages/{note['id']}", json={"body": "x"}, headers=auth(requester)
        )
        assert_problem(response, 404)
    assert stored(Message, note["id"])["body"] == "secret"


@pytest.mark.parametrize(
    "payload",
    [
        {"body": ""},
        {"body": "x" * 10001},
        {"body": "a\u0000b"},
        {"body": None},
        {"body": "a", "x": 1},
    ],
)
def test_invalid_message_edit_gets_422_and_changes_nothing(client, auth, agent, ticket, payload):
    message = posted(client, auth(agent.user), ticket.id, "original")
    response = client.patch(
        f"/api/messages/{message['id']}", json=payload, headers=auth(agent.user)
    )
    assert_problem(response, 422)
    assert stored(Message, message["id"])["body"] == "original"


def test_edit_leaving_the_body_out_changes_nothing(client, auth, agent, ticket):
    message = posted(client, auth(agent.user), ticket.id, "original")
    response = client.patch(f"/api/messages/{message['id']}", json={}, headers=auth(agent.user))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == message
    assert stored(Message, message["id"])["edited_at"] is None
    assert activities(ticket.id, "message_edited") == []


def test_editing_an_unknown_message_gets_404(client, auth, agent):
    assert_problem(
        client.patch("/api/messages/999", json={"body": "x"}, headers=auth(agent.user)), 404
    )


# --- DELETE /api/messages/{id} --------------------------------------------------------------


def test_author_deletes_a_message_which_records_an_activity(client, auth, agent, ticket):
    message = posted(client, auth(agent.user), ticket.id, "oops")
    response = client.delete(f"/api/messages/{message['id']}", headers=auth(agent.user))
    assert response.status_code == 204
    assert response.get_data() == b""
    assert stored(Message, message["id"]) is None
    [deleted] = activities(ticket.id, "message_deleted")
    assert (deleted["actor_id"], deleted["old_value"], deleted["new_value"]) == (
        agent.user.id,
        "oops",
        None,
    )
    assert_problem(client.get(f"/api/messages/{message['id']}", headers=auth(agent.user)), 404)


def test_requester_deletes_their_own_message(client, auth, requester, ticket):
    message = posted(client, auth(requester), ticket.id, "never mind")
    response = client.delete(f"/api/messages/{message['id']}", headers=auth(requester))
    assert response.status_code == 204
    assert stored(Message, message["id"]) is None


def test_admin_deletes_someone_elses_message(client, auth, admin, agent, ticket):
    message = posted(client, auth(agent.user), ticket.id, "oops")
    assert client.delete(f"/api/messages/{message['id']}", headers=auth(admin)).status_code == 204
    assert stored(Message, message["id"]) is None
    assert activities(ticket.id, "message_deleted")[0]["actor_id"] == admin.id


@pytest.mark.parametrize("deleter_role", ["agent", "manager", "requester"])
def test_others_than_the_author_or_an_admin_get_403_on_delete(
    client, auth, make_user, agent, requester, ticket, deleter_role
):
    message = posted(client, auth(agent.user), ticket.id, "keep me")
    deleter = requester if deleter_role == "requester" else make_user(deleter_role)
    assert_problem(client.delete(f"/api/messages/{message['id']}", headers=auth(deleter)), 403)
    assert stored(Message, message["id"])["body"] == "keep me"
    assert activities(ticket.id, "message_deleted") == []


def test_requester_deleting_an_internal_note_gets_404(client, auth, agent, requester, ticket):
    note = posted(client, auth(agent.user), ticket.id, "secret", is_internal=True)
    assert_problem(client.delete(f"/api/messages/{note['id']}", headers=auth(requester)), 404)
    assert stored(Message, note["id"]) is not None


def test_deleting_an_unknown_message_gets_404(client, auth, agent):
    assert_problem(client.delete("/api/messages/999", headers=auth(agent.user)), 404)


# --- ETag / If-Match ------------------------------------------------------------------------


def test_edit_with_the_current_etag_succeeds_and_returns_the_new_etag(client, auth, agent, ticket):
    message = posted(client, auth(agent.user), ticket.id, "v1")
    url = f"/api/messages/{message['id']}"
    etag = client.get(url, headers=auth(agent.user)).headers["ETag"]
    response = client.patch(
        url, json={"body": "v2"}, headers={**auth(agent.user), "If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()
    new_etag = response.headers["ETag"]
    assert new_etag != etag
    assert client.get(url, headers=auth(agent.user)).headers["ETag"] == new_etag


@pytest.mark.parametrize("method", ["put", "patch"])
def test_edit_with_a_stale_etag_gets_412_and_changes_nothing(client, auth, agent, ticket, method):
    message = posted(client, auth(agent.user), ticket.id, "v1")
    url = f"/api/messages/{message['id']}"
    stale = client.get(url, headers=auth(agent.user)).headers["ETag"]
    assert client.patch(url, json={"body": "v2"}, headers=auth(agent.user)).status_code == 200
    response = getattr(client, method)(
        url, json={"body": "v3"}, headers={**auth(agent.user), "If-Match": stale}
    )
    assert_problem(response, 412)
    assert stored(Message, message["id"])["body"] == "v2"
    assert len(activities(ticket.id, "message_edited")) == 1


# --- Concurrency ----------------------------------------------------------------------------


@pytest.fixture
def both_read_before_locking(monkeypatch):
    """Call to make the next two racing requests both read before either locks the ticket."""
    return lambda: meet_before(monkeypatch, tickets_service, "lock_ticket")


def test_concurrent_posts_on_one_ticket_both_succeed(
    app, auth, agent, requester, ticket, both_read_before_locking
):
    staff, own = auth(agent.user), auth(requester)
    ticket_id = ticket.id  # read here: the threads must not share this session
    both_read_before_locking()
    results = run_concurrently(
        app,
        [
            lambda c: post(c, staff, ticket_id, "from staff").status_code,
            lambda c: post(c, own, ticket_id, "from requester").status_code,
        ],
    )
    assert results == [201, 201]
    assert count(Message) == 2
    row = stored(Ticket, ticket_id)
    assert (row["message_count"], row["public_message_count"]) == (2, 2)


def test_concurrent_edits_of_one_message_apply_one_after_the_other(
    app, client, auth, agent, ticket, both_read_before_locking
):
    message = posted(client, auth(agent.user), ticket.id, "v1")
    url, headers = f"/api/messages/{message['id']}", auth(agent.user)
    both_read_before_locking()
    results = run_concurrently(
        app,
        [
            lambda c: c.patch(url, json={"body": "A"}, headers=headers).status_code,
            lambda c: c.patch(url, json={"body": "B"}, headers=headers).status_code,
        ],
    )
    assert results == [200, 200]
    first, second = activities(ticket.id, "message_edited")
    assert first["old_value"] == "v1"
    assert second["old_value"] == first["new_value"]
    assert stored(Message, message["id"])["body"] == second["new_value"]


def test_concurrent_edits_with_one_if_match_let_exactly_one_through(
    app, client, auth, agent, ticket, both_read_before_locking
):
    message = posted(client, auth(agent.user), ticket.id, "v1")
    url = f"/api/messages/{message['id']}"
    etag = client.get(url, headers=auth(agent.user)).headers["ETag"]
    headers = {**auth(agent.user), "If-Match": etag}
    both_read_before_locking()
    results = run_concurrently(
        app,
        [
            lambda c, body=body: c.patch(url, json={"body": body}, headers=headers).status_code
            for body in ("A", "B")
        ],
    )
    assert sorted(results) == [200, 412]
    assert len(activities(ticket.id, "message_edited")) == 1


def test_concurrent_deletes_of_one_message_delete_it_once(
    app, client, auth, agent, ticket, both_read_before_locking
):
    message = posted(client, auth(agent.user), ticket.id, "bye")
    url, headers = f"/api/messages/{message['id']}", auth(agent.user)
    both_read_before_locking()
    results = run_concurrently(app, [lambda c: c.delete(url, headers=headers).status_code] * 2)
    assert sorted(results) == [204, 404]
    assert len(activities(ticket.id, "message_deleted")) == 1
    assert stored(Ticket, ticket.id)["message_count"] == 0
