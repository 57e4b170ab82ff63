"""Cursor pagination on every list, offset pages capped, totals capped, the ticket count.

Each walk follows `next_cursor` from the first page and compares what it visited with the
order computed here from the rows the test made, with many equal sort keys (ties by id).
"""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models.sla import SlaCalendar, SlaPolicy
from app.models.ticket import Activity, Message
from app.models.webhook import Webhook, WebhookDelivery
from tests.helpers import assert_problem

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = ("open", "in_progress", "pending", "resolved", "closed")
PRIORITIES = ("low", "medium", "high", "critical")


def ok(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def walk(client, headers, url: str, per_page: int = 3) -> list[int]:
    """The ids of every item, following `next_cursor` from the first page."""
    separator = "&" if "?" in url else "?"
    body = ok(client.get(f"{url}{separator}per_page={per_page}", headers=headers))
    assert body["page"] == 1
    ids = [item["id"] for item in body["items"]]
    while body["next_cursor"] is not None:
        assert len(body["items"]) == per_page
        cursor = body["next_cursor"]
        body = ok(
            client.get(f"{url}{separator}per_page={per_page}&cursor={cursor}", headers=headers)
        )
        assert (body["page"], body["total"], body["pages"]) == (None, None, None)
        ids += [item["id"] for item in body["items"]]
    return ids


def ordered(rows: list[dict], key, descending: bool) -> list[int]:
    """Ids sorted by (key, id), both descending or both ascending, as the contract says."""
    return [row["id"] for row in sorted(rows, key=lambda r: (key(r), r["id"]), reverse=descending)]


@pytest.fixture
def desk(make_user, make_agent, make_ticket):
    """26 tickets whose sort keys take few values, so most of them tie."""
    requester = make_user("requester")
    agent = make_agent()
    rows = []
    for n in range(26):
        created = T0 + timedelta(hours=n % 3)
        ticket = make_ticket(
            requester,
            created_at=created,
            updated_at=T0 + timedelta(hours=n % 4),
            resolution_due_at=T0 + timedelta(days=n % 2),
            status=STATUSES[n % 5],
            priority=PRIORITIES[(n * 7) % 4],
            assigned_agent_id=agent.id if n % 2 else None,
        )
        rows.append(
            {
                "id": ticket.id,
                "created_at": created,
                "updated_at": ticket.updated_at,
                "resolution_due_at": ticket.resolution_due_at,
                "status": STATUSES.index(ticket.status),
                "priority": PRIORITIES.index(ticket.priority),
                "assigned": ticket.assigned_agent_id is not None,
            }
        )
    return {"rows": rows, "requester": requester}


TICKET_SORTS = ("created_at", "updated_at", "priority", "resolution_due_at", "status")


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("field", TICKET_SORTS)
def test_ticket_cursor_walk_visits_each_ticket_once_in_order(
    client, auth, admin, desk, field, descending
):
    sort = f"-{field}" if descending else field
    visited = walk(client, auth(admin), f"/api/tickets?sort={sort}", per_page=4)
    assert visited == ordered(desk["rows"], lambda r: r[field], descending)


def test_ticket_cursor_walk_keeps_filters_and_default_sort(client, auth, desk):
    visited = walk(client, auth(desk["requester"]), "/api/tickets?assigned_agent_id=none")
    expected = [r for r in desk["rows"] if not r["assigned"]]
    assert visited == ordered(expected, lambda r: r["created_at"], True)
    assert len(visited) == 13


def test_offset_pages_and_cursor_pages_agree(client, auth, admin, desk):
    headers = auth(admin)
    by_offset = []
    for page in (1, 2, 3):
        body = ok(client.get(f"/api/tickets?sort=status&per_page=10&page={page}", headers=headers))
        assert (body["total"], body["pages"]) == (26, 3)
        assert (body["next_cursor"] is None) == (page == 3)
        by_offset += [item["id"] for item in body["items"]]
    assert by_offset == walk(client, headers, "/api/tickets?sort=status", per_page=10)


@pytest.mark.parametrize(
    "sort", ["", "name", "-name", "email", "-email", "created_at", "-created_at"]
)
def test_user_cursor_walk(client, auth, admin, make_user, sort):
    for n in range(10):
        # Names equal but for case, and equal creation times: ties everywhere.
        make_user("requester", name=("alice", "Alice", "bob")[n % 3], created_at=T0)
    people = [
        {
            "id": u["id"],
            "name": u["name"].lower(),
            "email": u["email"],
            "created_at": u["created_at"],
        }
        for u in ok(client.get("/api/users?per_page=100", headers=auth(admin)))["items"]
    ]
    field = sort.lstrip("-") or "id"
    visited = walk(client, auth(admin), f"/api/users?sort={sort}")
    assert visited == ordered(people, lambda r: r[field], sort.startswith("-"))


@pytest.mark.parametrize("sort", ["", "name", "-name", "team", "-team"])
def test_agent_cursor_walk_with_teams_missing(client, auth, admin, make_agent, sort):
    agents = []
    for n in range(11):
        team = (None, "Network", "Access")[n % 3]
        agent = make_agent(name=("Zoe", "adam")[n % 2], team=team)
        agents.append({"id": agent.id, "name": agent.user.name.lower(), "team": team})
    field = sort.lstrip("-") or "id"
    descending = sort.startswith("-")
    if field == "team":  # agents without a team last, either way
        named = [a for a in agents if a["team"] is not None]
        expected = ordered(named, lambda r: r["team"], descending) + ordered(
            [a for a in agents if a["team"] is None], lambda r: 0, descending
        )
    else:
        expected = ordered(agents, lambda r: r[field], descending)
    assert walk(client, auth(admin), f"/api/agents?sort={sort}") == expected


@pytest.fixture
def busy_ticket(make_user, make_ticket, requester):
    ticket = make_ticket(requester)
    author = make_user("agent")
    for n in range(8):
        at = T0 + timedelta(minutes=n // 3)  # three messages and three activities per minute
        db.session.add(
            Message(ticket_id=ticket.id, author_id=author.id, body=f"m{n}", created_at=at)
        )
        db.session.add(
            Activity(ticket_id=ticket.id, actor_id=author.id, action="title_changed", created_at=at)
        )
    db.session.commit()
    return ticket


def test_message_cursor_walk(client, auth, admin, busy_ticket):
    messages = db.session.scalars(db.select(Message).where(Message.ticket_id == busy_ticket.id))
    rows = [{"id": m.id, "at": m.created_at} for m in messages]
    url = f"/api/messages/ticket/{busy_ticket.id}"
    assert walk(client, auth(admin), url) == ordered(rows, lambda r: r["at"], False)


def test_timeline_cursor_walk_visits_messages_and_activities_in_time_order(
    client, auth, admin, busy_ticket
):
    url = f"/api/messages/ticket/{busy_ticket.id}/timeline"
    headers = auth(admin)
    everything = ok(client.get(f"{url}?per_page=100", headers=headers))["items"]
    assert len(everything) == 16
    expected = [
        (item["type"], item["id"])
        for item in sorted(everything, key=lambda i: (i["created_at"], i["id"], i["type"]))
    ]
    visited, query = [], "?per_page=3"
    while query is not None:
        body = ok(client.get(url + query, headers=headers))
        visited += [(item["type"], item["id"]) for item in body["items"]]
        cursor = body["next_cursor"]
        query = None if cursor is None else f"?per_page=3&cursor={cursor}"
    assert visited == expected


def test_webhook_delivery_calendar_and_policy_cursor_walks(client, auth, admin):
    webhook = Webhook(url="https://hooks.example/in", events=["*"], secret="s" * 64)
    db.session.add(webhook)
    db.session.add_all(
        Webhook(url=f"https://hooks.example/{n}", events=["*"], secret="s" * 64) for n in range(6)
    )
    db.session.flush()
    db.session.add_all(
        WebhookDelivery(webhook_id=webhook.id, event_type="ping", created_at=T0) for _ in range(7)
    )
    hours = {day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue")}
    db.session.add_all(
        SlaCalendar(name=f"Desk {n}", time_zone="UTC", working_hours=hours, holidays=[])
        for n in range(5)
    )
    targets = {p: {"response_minutes": 5, "resolution_minutes": 60} for p in PRIORITIES}
    db.session.add_all(
        SlaPolicy(name=f"P{n}", position=n % 2, conditions={}, targets=targets) for n in range(6)
    )
    db.session.commit()
    headers = auth(admin)
    webhook_ids = db.session.scalars(db.select(Webhook.id).order_by(Webhook.id)).all()
    assert walk(client, headers, "/api/webhooks") == webhook_ids
    delivery_ids = db.session.scalars(
        db.select(WebhookDelivery.id).order_by(WebhookDelivery.id.desc())
    ).all()
    assert walk(client, headers, f"/api/webhooks/{webhook.id}/deliveries") == delivery_ids
    calendar_ids = db.session.scalars(db.select(SlaCalendar.id).order_by(SlaCalendar.id)).all()
    assert walk(client, headers, "/api/sla/calendars") == calendar_ids
    policy_ids = db.session.scalars(
        db.select(SlaPolicy.id).order_by(SlaPolicy.position, SlaPolicy.id)
    ).all()
    assert len(policy_ids) == 7  # with the default policy
    assert walk(client, headers, "/api/sla/policies") == policy_ids


@pytest.fixture
def small_cap(app):
    saved = app.config["PAGINATION_MAX_OFFSET_OBJECTS"]
    app.config["PAGINATION_MAX_OFFSET_OBJECTS"] = 10
    yield 10
    app.config["PAGINATION_MAX_OFFSET_OBJECTS"] = saved


def test_totals_are_null_above_the_cap_and_exact_up_to_it(client, auth, admin, desk, small_cap):
    headers = auth(admin)
    body = ok(client.get("/api/tickets?per_page=5", headers=headers))
    assert (body["total"], body["pages"], len(body["items"])) == (None, None, 5)
    assert body["next_cursor"] is not None
    exactly = ok(client.get("/api/tickets?status=in_progress,pending&per_page=5", headers=headers))
    assert (exactly["total"], exactly["pages"]) == (10, 2)
    assert ok(client.get("/api/tickets/count", headers=headers)) == {"count": 26}


def test_offset_page_beyond_the_cap_is_400_pointing_to_cursor(client, auth, admin, desk, small_cap):
    headers = auth(admin)
    assert len(ok(client.get("/api/tickets?per_page=5&page=2", headers=headers))["items"]) == 5
    problem = assert_problem(client.get("/api/tickets?per_page=5&page=3", headers=headers), 400)
    assert "cursor" in problem["detail"]
    assert_problem(client.get("/api/users?per_page=4&page=3", headers=headers), 400, "cursor")
    # Past the cap, the cursor goes on to the end.
    assert len(walk(client, headers, "/api/tickets", per_page=5)) == 26


def test_count_takes_the_list_filters_and_the_callers_scope(
    client, auth, admin, desk, make_user, make_ticket
):
    other = make_user("requester")
    make_ticket(other)
    headers = auth(admin)
    assert ok(client.get("/api/tickets/count", headers=headers)) == {"count": 27}
    pending = sum(1 for r in desk["rows"] if r["status"] == STATUSES.index("pending"))
    assert ok(client.get("/api/tickets/count?status=pending", headers=headers)) == {
        "count": pending
    }
    assert ok(client.get("/api/tickets/count", headers=auth(other))) == {"count": 1}
    assert_problem(client.get("/api/tickets/count?status=lost", headers=headers), 422)
    assert_problem(client.get("/api/tickets/count"), 401)


@pytest.fixture
def cursor(client, auth, admin, desk):
    body = ok(
        client.get("/api/tickets?sort=priority&status=open,closed&per_page=2", headers=auth(admin))
    )
    return body["next_cursor"]


@pytest.mark.parametrize(
    "query",
    [
        "sort=priority&status=open",  # other filters
        "sort=priority",  # a filter left out
        "sort=-priority&status=open,closed",  # other sort
    ],
)
def test_cursor_for_other_filters_or_sort_is_400(client, auth, admin, cursor, query):
    response = client.get(f"/api/tickets?{query}&cursor={cursor}", headers=auth(admin))
    assert_problem(response, 400, "another list")


def test_cursor_of_another_list_is_400(client, auth, admin, cursor):
    assert_problem(client.get(f"/api/users?cursor={cursor}", headers=auth(admin)), 400)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"),
        lambda c: "x" + c[1:] if c[0] != "x" else "y" + c[1:],
        lambda c: "%%%not-base64%%%",
        lambda c: "abc",
    ],
)
def test_tampered_or_foreign_cursor_is_400(client, auth, admin, cursor, mangle):
    query = "sort=priority&status=open,closed"
    response = client.get(f"/api/tickets?{query}&cursor={mangle(cursor)}", headers=auth(admin))
    assert_problem(response, 400, "altered")


def test_cursor_with_page_is_422(client, auth, admin, cursor):
    query = f"sort=priority&status=open,closed&page=1&cursor={cursor}"
    problem = assert_problem(client.get(f"/api/tickets?{query}", headers=auth(admin)), 422)
    assert "cursor" in problem["errors"]


def test_same_cursor_with_same_filters_serves_the_next_page(client, auth, admin, cursor, desk):
    query = f"sort=priority&status=open,closed&per_page=2&cursor={cursor}"
    body = ok(client.get(f"/api/tickets?{query}", headers=auth(admin)))
    matching = [r for r in desk["rows"] if r["status"] in (0, 4)]
    assert [i["id"] for i in body["items"]] == ordered(matching, lambda r: r["priority"], False)[
        2:4
    ]
