"""/api/messages/ticket/{id}/timeline: messages and activities merged in time order."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import assert_problem

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MESSAGE_FIELDS = {"author_id", "author", "body", "is_internal", "edited_at"}
ACTIVITY_FIELDS = {"actor_id", "actor", "action", "field", "old_value", "new_value"}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def timeline(client, headers, ticket_id: int, query: str = "?per_page=100") -> dict:
    return ok(client.get(f"/api/messages/ticket/{ticket_id}/timeline{query}", headers=headers))


def keys(page: dict) -> list[tuple[str, int]]:
    return [(item["type"], item["id"]) for item in page["items"]]


def walk(client, headers, ticket_id: int, per_page: int) -> list[tuple[str, int]]:
    """Every entry, read page by page; checks each envelope on the way."""
    first = timeline(client, headers, ticket_id, f"?per_page={per_page}")
    total, pages = first["total"], first["pages"]
    assert pages == -(-total // per_page)
    entries = keys(first)
    for page in range(2, pages + 2):  # one page past the end, which must be empty
        body = timeline(client, headers, ticket_id, f"?per_page={per_page}&page={page}")
        assert (body["page"], body["per_page"], body["total"]) == (page, per_page, total)
        assert len(body["items"]) == (
            min(per_page, total - (page - 1) * per_page) if page <= pages else 0
        )
        entries += keys(body)
    return entries


def post_message(client, headers, ticket_id: int, body: str, is_internal: bool = False) -> int:
    payload = {"ticket_id": ticket_id, "body": body, "is_internal": is_internal}
    return ok(client.post("/api/messages", json=payload, headers=headers), 201)["id"]


def patch_ticket(client, headers, ticket_id: int, **changes) -> None:
    ok(client.patch(f"/api/tickets/{ticket_id}", json=changes, headers=headers))


def create_ticket(client, headers, **fields) -> int:
    payload = {"title": "VPN down", "description": "It will not connect.", **fields}
    return ok(client.post("/api/tickets", json=payload, headers=headers), 201)["id"]


def activity_ids(page: dict, action: str) -> list[int]:
    return [i["id"] for i in page["items"] if i["type"] == "activity" and i["action"] == action]


@pytest.fixture
def busy_ticket(client, auth, agent, requester, freeze_time):
    """A ticket with public messages, internal notes and activities at distinct times.

    Returns the ticket id and the expected full timeline for staff and for the requester.
    """
    staff, own = auth(agent.user), auth(requester)
    at = iter(T0 + timedelta(minutes=n) for n in range(100))
    freeze_time(next(at))
    ticket_id = create_ticket(client, own)
    staff_view, requester_view = [], []

    def both(entry):
        staff_view.append(entry)
        requester_view.append(entry)

    both(("activity", 1))  # created
    freeze_time(next(at))
    both(("message", post_message(client, own, ticket_id, "Please help")))
    freeze_time(next(at))
    note = post_message(client, staff, ticket_id, "Checking the logs", is_internal=True)
    staff_view.append(("message", note))
    freeze_time(next(at))
    patch_ticket(client, staff, ticket_id, priority="high")
    both(("activity", 2))
    freeze_time(next(at))
    both(("message", post_message(client, staff, ticket_id, "Restart your router")))
    freeze_time(next(at))
    ok(client.patch(f"/api/messages/{note}", json={"body": "Logs: timeout"}, headers=staff))
    staff_view.append(("activity", 3))  # message_edited of an internal note
    freeze_time(next(at))
    second_note = post_message(client, staff, ticket_id, "Escalate?", is_internal=True)
    staff_view.append(("message", second_note))
    freeze_time(next(at))
    assert client.delete(f"/api/messages/{second_note}", headers=staff).status_code == 204
    staff_view.remove(("message", second_note))
    staff_view.append(("activity", 4))  # message_deleted of an internal note
    freeze_time(next(at))
    patch_ticket(client, staff, ticket_id, status="in_progress")
    both(("activity", 5))
    freeze_time(next(at))
    public = post_message(client, own, ticket_id, "Did not help")
    both(("message", public))
    freeze_time(next(at))
    ok(client.patch(f"/api/messages/{public}", json={"body": "Did not help!"}, headers=own))
    both(("activity", 6))  # message_edited of a public message
    freeze_time(next(at))
    both(("message", post_message(client, staff, ticket_id, "Replacing it")))
    freeze_time(next(at))
    patch_ticket(client, staff, ticket_id, status="resolved")
    both(("activity", 7))
    return ticket_id, staff_view, requester_view


def test_timeline_merges_messages_and_activities_in_time_order(client, auth, agent, busy_ticket):
    ticket_id, expected, _ = busy_ticket
    page = timeline(client, auth(agent.user), ticket_id)
    assert keys(page) == expected
    assert (page["total"], page["pages"]) == (len(expected), 1)
    times = [item["created_at"] for item in page["items"]]
    assert times == sorted(times)
    actions = [item["action"] for item in page["items"] if item["type"] == "activity"]
    assert actions == [
        "created",
        "priority_changed",
        "message_edited",
        "message_deleted",
        "status_changed",
        "message_edited",
        "status_changed",
    ]


def test_timeline_items_carry_type_and_the_fields_of_their_kind(
    client, auth, agent, requester, busy_ticket
):
    ticket_id, _, _ = busy_ticket
    items = timeline(client, auth(agent.user), ticket_id)["items"]
    created, first_message = items[0], items[1]
    assert created["type"] == "activity"
    assert ACTIVITY_FIELDS <= set(created) and not MESSAGE_FIELDS & set(created)
    assert (created["action"], created["actor"]) == (
        "created",
        {"id": requester.id, "name": requester.name},
    )
    assert (created["ticket_id"], created["created_at"]) == (ticket_id, "2026-03-02T09:00:00Z")
    assert first_message["type"] == "message"
    assert MESSAGE_FIELDS <= set(first_message) and not ACTIVITY_FIELDS & set(first_message)
    assert (first_message["body"], first_message["is_internal"]) == ("Please help", False)
    assert first_message["author"] == {
        "id": requester.id,
        "name": requester.name,
        "role": "requester",
    }
    assert first_message["created_at"] == "2026-03-02T09:01:00Z"


def test_timeline_entries_with_equal_times_are_ordered_by_id(
    client, auth, agent, make_ticket, requester, freeze_time
):
    staff = auth(agent.user)
    other = make_ticket(requester)
    # Ten messages elsewhere first, so this ticket's message ids (11, 12) exceed its activity ids.
    for n in range(10):
        post_message(client, staff, other.id, f"elsewhere {n}")
    freeze_time(T0)
    ticket_id = create_ticket(client, staff, requester_id=requester.id)  # activity 1
    freeze_time(T0 + timedelta(hours=1))
    first = post_message(client, staff, ticket_id, "first written")  # message 11
    patch_ticket(client, staff, ticket_id, priority="low")  # activity 2
    patch_ticket(client, staff, ticket_id, category="network")  # activity 3
    second = post_message(client, staff, ticket_id, "last written")  # message 12
    freeze_time(T0 + timedelta(hours=2))
    patch_ticket(client, staff, ticket_id, status="in_progress")  # activity 4, a later time
    assert (first, second) == (11, 12)
    expected = [
        ("activity", 1),
        ("activity", 2),
        ("activity", 3),
        ("message", 11),
        ("message", 12),
        ("activity", 4),
    ]
    assert keys(timeline(client, staff, ticket_id)) == expected
    for per_page in (1, 2, 4):
        assert walk(client, staff, ticket_id, per_page) == expected


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_timeline_pages_cover_every_entry_once_in_order(client, auth, agent, busy_ticket, per_page):
    ticket_id, expected, _ = busy_ticket
    assert walk(client, auth(agent.user), ticket_id, per_page) == expected


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_timeline_pages_for_tied_times_cover_every_entry_once(
    client, auth, agent, requester, freeze_time, per_page
):
    staff = auth(agent.user)
    freeze_time(T0)  # everything at one instant: only ids order the timeline
    ticket_id = create_ticket(client, staff, requester_id=requester.id)
    for n in range(3):
        post_message(client, staff, ticket_id, f"m{n}")
        patch_ticket(client, staff, ticket_id, title=f"Title {n}")
    full = keys(timeline(client, staff, ticket_id))
    assert len(full) == 7
    assert walk(client, staff, ticket_id, per_page) == full
    ids = [entry_id for _, entry_id in full]
    assert ids == sorted(ids)


def test_requester_timeline_has_no_internal_notes_nor_activities_about_them(
    client, auth, requester, busy_ticket
):
    ticket_id, _, expected = busy_ticket
    page = timeline(client, auth(requester), ticket_id)
    assert keys(page) == expected
    assert page["total"] == len(expected)
    assert all(not item.get("is_internal", False) for item in page["items"])
    assert len(activity_ids(page, "message_edited")) == 1  # the public message's edit only
    assert activity_ids(page, "message_deleted") == []
    bodies = " ".join(str(item.get("body")) + str(item.get("old_value")) for item in page["items"])
    assert "Logs" not in bodies and "Checking" not in bodies and "Escalate" not in bodies


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_requester_timeline_pages_cover_every_visible_entry_once(
    client, auth, requester, busy_ticket, per_page
):
    ticket_id, _, expected = busy_ticket
    assert walk(client, auth(requester), ticket_id, per_page) == expected


def test_staff_timeline_shows_internal_notes_and_activities_about_them(
    client, auth, make_user, busy_ticket
):
    ticket_id, expected, _ = busy_ticket
    page = timeline(client, auth(make_user("manager")), ticket_id)
    assert keys(page) == expected
    assert any(item.get("is_internal") for item in page["items"])
    assert activity_ids(page, "message_deleted") == [4]


def test_requester_cannot_see_the_timeline_of_another_requesters_ticket(
    client, auth, make_user, make_ticket, requester
):
    other = make_ticket(make_user("requester"))
    response = client.get(f"/api/messages/ticket/{other.id}/timeline", headers=auth(requester))
    assert_problem(response, 404)


def test_timeline_of_an_unknown_ticket_gets_404(client, auth, agent):
    assert_problem(client.get("/api/messages/ticket/999/timeline", headers=auth(agent.user)), 404)


def test_timeline_rejects_per_page_over_100(client, auth, agent, make_ticket, requester):
    ticket = make_ticket(requester)
    response = client.get(
        f"/api/messages/ticket/{ticket.id}/timeline?per_page=101", headers=auth(agent.user)
    )
    assert_problem(response, 422)


def test_timeline_of_a_ticket_without_entries_is_an_empty_page(
    client, auth, agent, make_ticket, requester
):
    ticket = make_ticket(requester)  # written directly: no activities, no messages
    page = timeline(client, auth(agent.user), ticket.id)
    assert (page["items"], page["total"], page["pages"]) == ([], 0, 0)
