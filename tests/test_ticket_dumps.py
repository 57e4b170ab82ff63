"""The ticket list reuses the dumps of tickets it has shown (app/services/ticket_dumps.py):
whatever changes what a list item shows must show at once, and the clock must move its SLA
values, without a request ever reading a stale dump."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.ticket import Ticket
from app.services import ticket_dumps
from app.services.ticket_dumps import DumpCache, _Dump
from tests.helpers import recorded_statements

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(make_user, make_agent, make_ticket, freeze_time):
    freeze_time(T0)
    requester = make_user("requester", name="Rita Requester", email="rita@example.com")
    agent = make_agent(name="Alan Agent", team="Network")
    ticket = make_ticket(requester, assigned_agent_id=agent.id, created_at=T0)
    return requester, agent, ticket


def item(client, headers, ticket_id: int) -> dict:
    response = client.get("/api/tickets?per_page=100", headers=headers)
    assert response.status_code == 200, response.get_json()
    (found,) = [item for item in response.get_json()["items"] if item["id"] == ticket_id]
    return found


def single(client, headers, ticket_id: int) -> dict:
    return client.get(f"/api/tickets/{ticket_id}", headers=headers).get_json()


def test_a_second_read_of_a_page_loads_no_ticket(client, auth, admin, desk):
    _, _, ticket = desk
    headers = auth(admin)
    item(client, headers, ticket.id)
    with recorded_statements() as statements:
        again = item(client, headers, ticket.id)
    assert not any("tickets.description" in statement for statement in statements)
    assert again == single(client, headers, ticket.id)


def test_a_changed_ticket_shows_its_change_at_once(client, auth, admin, desk):
    _, _, ticket = desk
    headers = auth(admin)
    assert item(client, headers, ticket.id)["title"] == "Printer is on fire"
    response = client.patch(
        f"/api/tickets/{ticket.id}",
        json={"title": "Printer is out", "status": "in_progress"},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    listed = item(client, headers, ticket.id)
    assert (listed["title"], listed["status"]) == ("Printer is out", "in_progress")
    assert listed == single(client, headers, ticket.id)


def test_a_new_message_shows_in_each_viewers_message_count(client, auth, admin, desk):
    requester, agent, ticket = desk
    staff, own = auth(admin), auth(requester)
    assert item(client, staff, ticket.id)["message_count"] == 0
    assert item(client, own, ticket.id)["message_count"] == 0
    for is_internal in (False, True):
        response = client.post(
            "/api/messages",
            json={"ticket_id": ticket.id, "body": "Looking", "is_internal": is_internal},
            headers=auth(agent.user),
        )
        assert response.status_code == 201, response.get_json()
    assert item(client, staff, ticket.id)["message_count"] == 2
    assert item(client, own, ticket.id)["message_count"] == 1  # not the internal note
    assert item(client, staff, ticket.id)["message_count"] == 2


def test_renamed_people_and_policy_show_at_once(client, auth, admin, desk):
    requester, agent, ticket = desk
    headers = auth(admin)
    policy_id = ticket.sla_policy_id
    changes = [
        (f"/api/users/{requester.id}", {"name": "Rita R."}, "requester", "name"),
        (f"/api/users/{requester.id}", {"email": "rr@example.com"}, "requester", "email"),
        (f"/api/users/{agent.user_id}", {"name": "Alan A."}, "assigned_agent", "name"),
        (f"/api/agents/{agent.id}", {"team": "Hardware"}, "assigned_agent", "team"),
        (f"/api/sla/policies/{policy_id}", {"name": "Everything else"}, "sla_policy", "name"),
    ]
    for url, body, summary, field in changes:
        before = item(client, headers, ticket.id)
        assert before[summary][field] != body[field]
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 200, (url, response.get_json())
        after = item(client, headers, ticket.id)
        assert after[summary][field] == body[field], (url, after[summary])
        assert after == single(client, headers, ticket.id)


def test_new_sla_targets_show_at_once(client, auth, admin, desk):
    _, _, ticket = desk
    headers = auth(admin)
    assert item(client, headers, ticket.id)["response_due_at"] == "2026-05-04T13:00:00Z"
    policy = client.get(f"/api/sla/policies/{ticket.sla_policy_id}", headers=headers).get_json()
    targets = {**policy["targets"], "medium": {"response_minutes": 60, "resolution_minutes": 600}}
    response = client.patch(
        f"/api/sla/policies/{ticket.sla_policy_id}", json={"targets": targets}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    listed = item(client, headers, ticket.id)
    assert listed["response_due_at"] == "2026-05-04T10:00:00Z"
    assert listed == single(client, headers, ticket.id)


def test_sla_values_move_with_the_clock_on_a_page_read_again(
    client, auth, admin, desk, freeze_time
):
    _, _, ticket = desk  # response due at T0 + 4 h, at risk from T0 + 3 h
    headers = auth(admin)
    moments = [
        (T0 + timedelta(hours=1), "on_track", False),
        (T0 + timedelta(hours=3, seconds=1), "at_risk", False),
        (T0 + timedelta(hours=4), "at_risk", False),  # due, not yet past it
        (T0 + timedelta(hours=4, microseconds=1), "breached", True),
    ]
    for moment, status, breached in moments:
        freeze_time(moment)
        for _ in range(2):  # the second read comes from the cache
            listed = item(client, headers, ticket.id)
            assert (listed["sla_status"], listed["response_breached"]) == (status, breached)
        assert listed == single(client, headers, ticket.id)


def test_a_ticket_deleted_after_its_key_was_read_is_left_out(app, admin, desk):
    _, _, ticket = desk
    rows = db.session.execute(select(*ticket_dumps.KEY_COLUMNS).where(Ticket.id == ticket.id)).all()
    db.session.delete(db.session.get(Ticket, ticket.id))
    db.session.flush()
    assert ticket_dumps.dumps(admin, rows, T0) == []


def test_the_cache_keeps_the_most_recent_dumps_within_its_bytes():
    cache = DumpCache(max_bytes=3000)
    for n in range(4):
        cache.put((n,), _Dump({"id": n}, None, 1000))
    assert [entry and entry.item for entry in cache.get_many([(0,), (1,), (2,), (3,)])] == [
        None,
        {"id": 1},
        {"id": 2},
        {"id": 3},
    ]
    cache.put((4,), _Dump({"id": 4}, None, 5000))  # larger than the whole cache: not kept
    assert cache.get_many([(4,), (3,)])[0] is None


def test_a_cache_of_no_bytes_keeps_nothing():
    cache = DumpCache(max_bytes=0)
    cache.put((1,), _Dump({"id": 1}, None, 1))
    assert cache.get_many([(1,)]) == [None]
