"""A list item is the ticket as `GET /api/tickets/{id}` shows it, field for field.

The list serves dumps it may have made for an earlier request (app/services/ticket_dumps.py)
and the single ticket dumps the ticket it has just read: these tests keep the two the same for
every kind of ticket and viewer.
"""

from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=6)


@pytest.fixture
def varied(make_user, make_agent, make_ticket, freeze_time):
    """Tickets that differ in every way a dump can: assigned or not, responded, paused,
    resolved, breached, closed, and with internal messages counted apart from public ones."""
    freeze_time(NOW)
    requester = make_user("requester", name="Rita Requester", email="rita@example.com")
    agent = make_agent(name="Alan Agent", team="Network")
    teamless = make_agent(name="Tess Teamless", team=None)
    tickets = [
        make_ticket(requester, created_at=T0, title="unassigned, open"),
        make_ticket(
            requester,
            created_at=T0 + timedelta(minutes=1),
            assigned_agent_id=agent.id,
            status="in_progress",
            priority="high",
            first_response_at=T0 + timedelta(minutes=30),
            message_count=5,
            public_message_count=3,
        ),
        make_ticket(
            requester,
            created_at=T0 + timedelta(minutes=2),
            assigned_agent_id=teamless.id,
            status="pending",
            category="network",
            first_response_at=T0 + timedelta(minutes=10),
            sla_paused_at=T0 + timedelta(hours=1),
            sla_paused_seconds=600,
        ),
        make_ticket(
            requester,
            created_at=T0 + timedelta(minutes=3),
            assigned_agent_id=agent.id,
            status="resolved",
            priority="critical",
            first_response_at=T0 + timedelta(hours=1),
            resolved_at=T0 + timedelta(hours=2),
            response_due_at=T0 + timedelta(minutes=18),
            resolution_due_at=T0 + timedelta(hours=4),
        ),
        make_ticket(
            requester,
            created_at=T0 + timedelta(minutes=4),
            status="closed",
            priority="low",
            first_response_at=T0 + timedelta(minutes=5),
            resolved_at=T0 + timedelta(hours=1),
            closed_at=T0 + timedelta(hours=3),
        ),
        make_ticket(
            requester,
            created_at=T0 - timedelta(days=2),
            assigned_agent_id=agent.id,
            response_due_at=T0 - timedelta(days=2) + timedelta(hours=1),
            resolution_due_at=T0 - timedelta(days=1),
        ),
    ]
    return requester, tickets


def listed(client, headers) -> list[dict]:
    response = client.get("/api/tickets?per_page=100&sort=created_at", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_list_items_equal_the_single_ticket_for_staff(client, admin, auth, varied):
    _, tickets = varied
    items = listed(client, auth(admin))
    assert len(items) == len(tickets)
    for item in items:
        single = client.get(f"/api/tickets/{item['id']}", headers=auth(admin)).get_json()
        assert item == single
        assert list(item) == list(single)  # same fields in the same order


def test_list_items_equal_the_single_ticket_for_the_requester(client, auth, varied):
    requester, tickets = varied
    items = listed(client, auth(requester))
    assert len(items) == len(tickets)
    for item in items:
        single = client.get(f"/api/tickets/{item['id']}", headers=auth(requester)).get_json()
        assert item == single


def test_list_items_show_people_and_sla_state(client, admin, auth, varied):
    owner, tickets = varied
    staff = {item["id"]: item for item in listed(client, auth(admin))}
    own = {item["id"]: item for item in listed(client, auth(owner))}
    unassigned, working, paused, resolved, closed, overdue = (staff[t.id] for t in tickets)

    assert unassigned["assigned_agent_id"] is None and unassigned["assigned_agent"] is None
    assert unassigned["requester"] == {
        "id": owner.id,
        "name": "Rita Requester",
        "email": "rita@example.com",
    }
    # No response 6 h into a 4 h response clock.
    assert unassigned["response_breached"] is True and unassigned["sla_status"] == "breached"

    assert working["assigned_agent"] == {
        "id": tickets[1].assigned_agent_id,
        "name": "Alan Agent",
        "team": "Network",
    }
    assert working["first_response_at"] == "2026-05-04T09:30:00Z"
    assert working["sla_status"] == "on_track"  # 24 h resolution clock, 6 h used
    # Staff count every message, the requester only the public ones.
    assert working["message_count"] == 5
    assert own[working["id"]]["message_count"] == 3

    assert paused["assigned_agent"]["team"] is None
    assert paused["sla_paused_seconds"] == 600

    assert resolved["response_breached"] is True
    assert resolved["resolution_breached"] is False
    assert resolved["sla_status"] == "breached"
    assert resolved["resolved_at"] == "2026-05-04T11:00:00Z"

    assert closed["sla_status"] == "met" and closed["closed_at"] == "2026-05-04T12:00:00Z"
    assert overdue["resolution_breached"] is True


def test_the_same_list_asked_by_two_requesters_shows_each_their_own(
    client, auth, make_user, make_ticket
):
    # The list's statements are built once per scope and arguments (app/services/tickets.py).
    first, second = make_user("requester"), make_user("requester")
    make_ticket(first, title="first's")
    url = "/api/tickets?status=open&sort=-created_at&per_page=10"
    for _ in range(2):
        assert [i["title"] for i in client.get(url, headers=auth(first)).get_json()["items"]] == [
            "first's"
        ]
        assert client.get(url, headers=auth(second)).get_json()["items"] == []
    make_ticket(second, title="second's")
    page = client.get(url, headers=auth(second)).get_json()
    assert [i["title"] for i in page["items"]] == ["second's"] and page["total"] == 1
