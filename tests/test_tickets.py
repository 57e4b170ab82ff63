"""/api/tickets: create, read, list (filters, sorts, pages), update rules, audit trail, delete."""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models.ticket import Activity, Message
from app.models.user import User
from tests.helpers import assert_problem
from tests.ticket_support import (
    TICKET_BODY,
    committed_activities,
    committed_ticket,
    create_ticket,
    forget_teardown,
    get_ticket,
    message_count,
    patch_ticket,
    post_message,
    rollback_after_each_request,
    ticket_count,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _session_per_request(app):
    rollback = rollback_after_each_request(app)
    yield
    forget_teardown(app, rollback)


@pytest.fixture
def staff(request, admin, manager, agent):
    """The staff user of the role given as the indirect parameter."""
    return {"admin": admin, "manager": manager, "agent": agent.user}[request.param]


STAFF_ROLES = ["admin", "manager", "agent"]


# --- create --------------------------------------------------------------------------------------


def test_requester_creates_ticket_for_themself_with_defaults(client, requester, auth):
    response = client.post("/api/tickets", json=TICKET_BODY, headers=auth(requester))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/tickets/{body['id']}")
    assert (body["status"], body["priority"], body["category"]) == ("open", "medium", "other")
    assert body["requester_id"] == requester.id
    assert body["requester"] == {
        "id": requester.id,
        "name": requester.name,
        "email": requester.email,
    }
    assert body["assigned_agent_id"] is None and body["assigned_agent"] is None
    assert body["title"] == TICKET_BODY["title"]
    row = committed_ticket(body["id"])
    assert (row.status, row.priority, row.category) == ("open", "medium", "other")
    assert row.requester_id == requester.id and row.assigned_agent_id is None


def test_location_header_points_at_the_created_ticket(client, requester, auth):
    response = client.post("/api/tickets", json=TICKET_BODY, headers=auth(requester))

    location = response.headers["Location"]
    fetched = client.get(location, headers=auth(requester))
    assert fetched.status_code == 200
    assert fetched.get_json()["id"] == response.get_json()["id"]


def test_requester_may_choose_category_and_priority(client, requester, auth):
    body = create_ticket(client, auth(requester), category="network", priority="high")

    assert (body["category"], body["priority"]) == ("network", "high")
    assert committed_ticket(body["id"]).priority == "high"


@pytest.mark.parametrize("field", ["status", "assigned_agent_id", "requester_id"])
def test_requester_sending_a_staff_field_on_create_gets_403_and_nothing_is_created(
    client, requester, make_user, agent, auth, field
):
    other = make_user("requester")
    value = {"status": "open", "assigned_agent_id": agent.id, "requester_id": other.id}[field]

    response = client.post(
        "/api/tickets", json={**TICKET_BODY, field: value}, headers=auth(requester)
    )

    body = assert_problem(response, 403, field)
    assert field in body["errors"]
    assert ticket_count() == 0


def test_requester_sending_own_id_as_requester_id_is_still_403(client, requester, auth):
    response = client.post(
        "/api/tickets", json={**TICKET_BODY, "requester_id": requester.id}, headers=auth(requester)
    )

    assert_problem(response, 403, "requester_id")
    assert ticket_count() == 0


@pytest.mark.parametrize("staff", STAFF_ROLES, indirect=True)
def test_staff_create_ticket_for_a_requester_assigned_with_status(
    client, staff, requester, make_agent, auth
):
    assignee = make_agent(team="Network")

    body = create_ticket(
        client,
        auth(staff),
        requester_id=requester.id,
        assigned_agent_id=assignee.id,
        status="in_progress",
    )

    assert body["requester_id"] == requester.id
    assert body["requester"]["id"] == requester.id
    assert body["assigned_agent_id"] == assignee.id
    assert body["assigned_agent"] == {
        "id": assignee.id,
        "name": assignee.user.name,
        "team": "Network",
    }
    assert body["status"] == "in_progress"
    row = committed_ticket(body["id"])
    assert (row.requester_id, row.assigned_agent_id, row.status) == (
        requester.id,
        assignee.id,
        "in_progress",
    )


def test_staff_ticket_without_requester_id_is_requested_by_the_caller(client, agent, auth):
    body = create_ticket(client, auth(agent.user))

    assert body["requester_id"] == agent.user.id


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", ""),
        ("title", "x" * 201),
        ("description", ""),
        ("description", "x" * 20001),
    ],
)
def test_title_and_description_out_of_bounds_are_422(client, requester, auth, field, value):
    response = client.post(
        "/api/tickets", json={**TICKET_BODY, field: value}, headers=auth(requester)
    )

    body = assert_problem(response, 422)
    assert field in body["errors"]
    assert ticket_count() == 0


def test_title_and_description_at_their_maximum_lengths_are_accepted(client, requester, auth):
    body = create_ticket(client, auth(requester), title="t" * 200, description="d" * 20000)

    row = committed_ticket(body["id"])
    assert (len(row.title), len(row.description)) == (200, 20000)


@pytest.mark.parametrize("missing", ["title", "description"])
def test_missing_title_or_description_is_422(client, requester, auth, missing):
    payload = {key: value for key, value in TICKET_BODY.items() if key != missing}

    response = client.post("/api/tickets", json=payload, headers=auth(requester))

    assert missing in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


@pytest.mark.parametrize(
    "field, value", [("priority", "urgent"), ("category", "printers"), ("status", "new")]
)
def test_values_outside_an_enum_are_422(client, admin, auth, field, value):
    response = client.post("/api/tickets", json={**TICKET_BODY, field: value}, headers=auth(admin))

    assert field in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


def test_unknown_body_field_on_create_is_422(client, requester, auth):
    response = client.post(
        "/api/tickets", json={**TICKET_BODY, "urgency": "now"}, headers=auth(requester)
    )

    assert "urgency" in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


def test_unknown_requester_id_is_422(client, admin, auth):
    response = client.post(
        "/api/tickets", json={**TICKET_BODY, "requester_id": 9999}, headers=auth(admin)
    )

    assert "requester_id" in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


def test_unknown_assigned_agent_is_422(client, admin, auth):
    response = client.post(
        "/api/tickets", json={**TICKET_BODY, "assigned_agent_id": 9999}, headers=auth(admin)
    )

    assert "assigned_agent_id" in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


@pytest.mark.parametrize("inactive", ["profile", "user"])
def test_assigning_an_inactive_agent_on_create_is_422(client, admin, make_agent, auth, inactive):
    assignee = make_agent()
    if inactive == "profile":
        assignee.is_active = False
    else:
        assignee.user.is_active = False
    db.session.commit()

    response = client.post(
        "/api/tickets", json={**TICKET_BODY, "assigned_agent_id": assignee.id}, headers=auth(admin)
    )

    assert "assigned_agent_id" in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


def test_creating_records_exactly_one_created_activity(client, manager, requester, agent, auth):
    body = create_ticket(
        client,
        auth(manager),
        requester_id=requester.id,
        assigned_agent_id=agent.id,
        status="in_progress",
        priority="high",
        category="network",
    )

    assert committed_activities(body["id"]) == [("created", None, None, None)]
    actor_ids = db.session.scalars(
        db.select(Activity.actor_id).where(Activity.ticket_id == body["id"])
    ).all()
    assert actor_ids == [manager.id]


def test_requester_creating_a_ticket_records_one_created_activity(client, requester, auth):
    body = create_ticket(client, auth(requester))

    assert [action for action, *_ in committed_activities(body["id"])] == ["created"]


# --- read ----------------------------------------------------------------------------------------


def test_requester_reads_own_ticket(client, requester, auth):
    created = create_ticket(client, auth(requester))

    assert get_ticket(client, created["id"], auth(requester))["title"] == TICKET_BODY["title"]


def test_requester_gets_404_for_someone_elses_ticket(client, requester, make_user, auth):
    other = make_user("requester")
    created = create_ticket(client, auth(other))

    response = client.get(f"/api/tickets/{created['id']}", headers=auth(requester))

    assert_problem(response, 404)


@pytest.mark.parametrize("staff", STAFF_ROLES, indirect=True)
def test_staff_read_any_ticket(client, staff, requester, auth):
    created = create_ticket(client, auth(requester))

    assert get_ticket(client, created["id"], auth(staff))["requester_id"] == requester.id


def test_unknown_ticket_is_404(client, admin, auth):
    assert_problem(client.get("/api/tickets/424242", headers=auth(admin)), 404)


# --- list: filters -------------------------------------------------------------------------------


@pytest.fixture
def catalog(make_ticket, make_user, make_agent):
    """Seven tickets with known fields; returns the ids the queries below refer to."""
    alice = make_user("requester", name="Alice")
    bob = make_user("requester", name="Bob")
    network = make_agent(team="Network")
    hardware = make_agent(team="Hardware")
    rows = [
        # title, requester, status, priority, category, agent
        ("A", alice, "open", "low", "hardware", None),
        ("B", alice, "in_progress", "high", "network", network),
        ("C", bob, "pending", "critical", "network", network),
        ("D", bob, "resolved", "medium", "software", hardware),
        ("E", alice, "closed", "high", "access", None),
        ("F", bob, "open", "high", "network", hardware),
        ("G", alice, "open", "critical", "other", network),
    ]
    for hour, (title, who, status, priority, category, assignee) in enumerate(rows):
        make_ticket(
            who,
            title=title,
            status=status,
            priority=priority,
            category=category,
            assigned_agent_id=assignee.id if assignee else None,
            created_at=T0 + timedelta(hours=hour),
        )
    return {"alice": alice.id, "bob": bob.id, "network": network.id, "hardware": hardware.id}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", "ABCDEFG"),
        ("status=open", "AFG"),
        ("status=open&status=pending", "ACFG"),
        ("status=open,pending", "ACFG"),
        ("status=open,pending&status=closed", "ACEFG"),
        ("priority=high", "BEF"),
        ("priority=high,critical", "BCEFG"),
        ("priority=critical&priority=low", "ACG"),
        ("category=network", "BCF"),
        ("category=access,other", "EG"),
        ("assigned_agent_id={network}", "BCG"),
        ("assigned_agent_id={network},{hardware}", "BCDFG"),
        ("assigned_agent_id=none", "AE"),
        ("assigned_agent_id=none,{hardware}", "ADEF"),
        ("assigned_agent_id=none&assigned_agent_id={network}", "ABCEG"),
        ("requester_id={bob}", "CDF"),
        ("requester_id={bob},{alice}", "ABCDEFG"),
        ("status=open&priority=high,critical&category=network", "F"),
        ("status=open,in_progress&assigned_agent_id={network}&requester_id={alice}", "BG"),
        ("priority=critical&assigned_agent_id=none", ""),
    ],
)
def test_list_filters_alone_and_combined(client, admin, auth, catalog, query, expected):
    response = client.get(
        "/api/tickets?sort=created_at&" + query.format(**catalog), headers=auth(admin)
    )

    assert "".join(titles(response)) == expected
    assert response.get_json()["total"] == len(expected)


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=opened", "status"),
        ("priority=urgent", "priority"),
        ("category=printers", "category"),
        ("assigned_agent_id=nobody", "assigned_agent_id"),
        ("requester_id=abc", "requester_id"),
        ("breached=maybe", "breached"),
        ("sla_status=late", "sla_status"),
    ],
)
def test_invalid_filter_values_are_422(client, admin, auth, query, field):
    response = client.get(f"/api/tickets?{query}", headers=auth(admin))

    assert field in assert_problem(response, 422)["errors"]


@pytest.fixture
def day_edges(make_ticket, requester):
    """Tickets around the UTC day 2026-03-01."""
    moments = {
        "before": datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
        "start": datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC),
        "noon": datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),
        "end": datetime(2026, 3, 1, 23, 59, 59, 999000, tzinfo=UTC),
        "after": datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC),
    }
    for title, moment in moments.items():
        make_ticket(requester, title=title, created_at=moment)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("created_from=2026-03-01", ["start", "noon", "end", "after"]),
        ("created_to=2026-03-01", ["before", "start", "noon", "end"]),
        ("created_from=2026-03-01&created_to=2026-03-01", ["start", "noon", "end"]),
        ("created_to=2026-02-28", ["before"]),
        ("created_from=2026-03-01T12:00:00Z", ["noon", "end", "after"]),
        ("created_from=2026-03-01T12:00:01Z", ["end", "after"]),
        ("created_to=2026-03-01T11:59:59Z", ["before", "start"]),
        ("created_from=2026-03-01T13:00:00%2B01:00&created_to=2026-03-01T12:30:00Z", ["noon"]),
    ],
)
def test_created_from_and_created_to_bounds(client, admin, auth, day_edges, query, expected):
    response = client.get(f"/api/tickets?sort=created_at&{query}", headers=auth(admin))

    assert titles(response) == expected


@pytest.mark.parametrize(
    "query",
    [
        "created_from=yesterday",
        "created_to=2026-02-30",
        "created_from=2026-13-01",
        "created_to=03/01/2026",
        "created_from=2026-03-01T25:00:00Z",
    ],
)
def test_bad_dates_in_filters_are_422(client, admin, auth, query):
    response = client.get(f"/api/tickets?{query}", headers=auth(admin))

    assert query.split("=")[0] in assert_problem(response, 422)["errors"]


def test_requester_list_shows_only_own_tickets(client, auth, catalog):
    alice = db.session.get(User, catalog["alice"])

    response = client.get("/api/tickets?sort=created_at", headers=auth(alice))

    assert titles(response) == ["A", "B", "E", "G"]
    assert response.get_json()["total"] == 4


def test_requester_filtering_by_another_requester_sees_nothing(client, auth, catalog):
    alice = db.session.get(User, catalog["alice"])

    response = client.get(f"/api/tickets?requester_id={catalog['bob']}", headers=auth(alice))

    assert titles(response) == []
    assert response.get_json()["total"] == 0


# --- list: sorting and pages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sort, expected",
    [
        (None, "GFEDCBA"),
        ("-created_at", "GFEDCBA"),
        ("created_at", "ABCDEFG"),
        # Severity, not the alphabet (which would put critical first); ties by id.
        ("priority", "ADBEFCG"),
        ("-priority", "GCFEBDA"),
        # Workflow order: open, in_progress, pending, resolved, closed.
        ("status", "AFGBCDE"),
        ("-status", "EDCBGFA"),
    ],
)
def test_list_sorts(client, admin, auth, catalog, sort, expected):
    query = f"?sort={sort}" if sort else ""

    response = client.get(f"/api/tickets{query}", headers=auth(admin))

    assert "".join(titles(response)) == expected


def test_sort_by_resolution_due_at(client, admin, requester, auth, make_ticket):
    for title, hours in (("late", 30), ("soon", 2), ("middle", 10)):
        make_ticket(
            requester, title=title, resolution_due_at=T0 + timedelta(hours=hours), created_at=T0
        )

    ascending = client.get("/api/tickets?sort=resolution_due_at", headers=auth(admin))
    descending = client.get("/api/tickets?sort=-resolution_due_at", headers=auth(admin))

    assert titles(ascending) == ["soon", "middle", "late"]
    assert titles(descending) == ["late", "middle", "soon"]


def test_sort_by_updated_at(client, admin, requester, auth, make_ticket):
    for title, hours in (("old", 1), ("new", 5), ("mid", 3)):
        make_ticket(requester, title=title, updated_at=T0 + timedelta(hours=hours), created_at=T0)

    response = client.get("/api/tickets?sort=-updated_at", headers=auth(admin))

    assert titles(response) == ["new", "mid", "old"]


@pytest.mark.parametrize("sort", ["title", "-title", "id", "priority,status", "--priority"])
def test_unknown_sort_is_422(client, admin, auth, sort):
    response = client.get(f"/api/tickets?sort={sort}", headers=auth(admin))

    assert "sort" in assert_problem(response, 422)["errors"]


def test_pagination_envelope_and_slicing(client, admin, auth, catalog):
    first = client.get("/api/tickets?sort=created_at&per_page=3", headers=auth(admin)).get_json()
    last = client.get(
        "/api/tickets?sort=created_at&per_page=3&page=3", headers=auth(admin)
    ).get_json()
    beyond = client.get(
        "/api/tickets?sort=created_at&per_page=3&page=4", headers=auth(admin)
    ).get_json()

    assert {key: first[key] for key in ("page", "per_page", "total", "pages")} == {
        "page": 1,
        "per_page": 3,
        "total": 7,
        "pages": 3,
    }
    assert [item["title"] for item in first["items"]] == ["A", "B", "C"]
    assert [item["title"] for item in last["items"]] == ["G"]
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 7, 4)


def test_pagination_defaults(client, admin, auth, catalog):
    body = client.get("/api/tickets", headers=auth(admin)).get_json()

    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 25, 7, 1)


@pytest.mark.parametrize("query, field", [("per_page=101", "per_page"), ("page=0", "page")])
def test_out_of_range_paging_is_422(client, admin, auth, query, field):
    response = client.get(f"/api/tickets?{query}", headers=auth(admin))

    assert field in assert_problem(response, 422)["errors"]


# --- update: who may change what -----------------------------------------------------------------


@pytest.fixture
def own_ticket(client, requester, auth) -> dict:
    return create_ticket(client, auth(requester), category="software", priority="low")


def test_requester_edits_title_description_and_category_of_own_ticket(
    client, requester, auth, own_ticket
):
    response = patch_ticket(
        client,
        own_ticket["id"],
        auth(requester),
        title="VPN drops twice an hour",
        description="Worse now.",
        category="network",
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["title"], body["description"], body["category"]) == (
        "VPN drops twice an hour",
        "Worse now.",
        "network",
    )
    row = committed_ticket(own_ticket["id"])
    assert (row.title, row.description, row.category) == (
        "VPN drops twice an hour",
        "Worse now.",
        "network",
    )


def test_put_is_partial_like_patch(client, requester, auth, own_ticket):
    response = client.put(
        f"/api/tickets/{own_ticket['id']}", json={"title": "Only this"}, headers=auth(requester)
    )

    assert response.status_code == 200, response.get_json()
    row = committed_ticket(own_ticket["id"])
    assert (row.title, row.description, row.category) == (
        "Only this",
        TICKET_BODY["description"],
        "software",
    )


@pytest.mark.parametrize("field, value", [("priority", "critical"), ("assigned_agent_id", "AGENT")])
def test_requester_may_not_set_priority_or_assignee(
    client, requester, agent, auth, own_ticket, field, value
):
    value = agent.id if value == "AGENT" else value

    response = patch_ticket(client, own_ticket["id"], auth(requester), **{field: value})

    body = assert_problem(response, 403, field)
    assert field in body["errors"]
    row = committed_ticket(own_ticket["id"])
    assert (row.priority, row.assigned_agent_id) == ("low", None)
    assert len(committed_activities(own_ticket["id"])) == 1


def test_forbidden_field_rejects_the_whole_update(client, requester, auth, own_ticket):
    response = patch_ticket(
        client, own_ticket["id"], auth(requester), title="Sneaky", priority="critical"
    )

    assert_problem(response, 403, "priority")
    assert committed_ticket(own_ticket["id"]).title == TICKET_BODY["title"]


def test_requester_cannot_update_someone_elses_ticket(client, requester, make_user, auth):
    other = make_user("requester")
    theirs = create_ticket(client, auth(other))

    response = patch_ticket(client, theirs["id"], auth(requester), title="Mine now")

    assert_problem(response, 404)
    assert committed_ticket(theirs["id"]).title == TICKET_BODY["title"]


def test_requester_cannot_edit_a_closed_ticket(client, requester, auth, own_ticket):
    assert (
        patch_ticket(client, own_ticket["id"], auth(requester), status="closed").status_code == 200
    )

    response = patch_ticket(client, own_ticket["id"], auth(requester), title="Changed my mind")

    assert_problem(response, 409, "closed")
    assert committed_ticket(own_ticket["id"]).title == TICKET_BODY["title"]


@pytest.mark.parametrize("start", ["open", "in_progress", "pending", "resolved"])
def test_requester_withdraws_own_ticket_from_any_non_closed_status(
    client, requester, agent, auth, own_ticket, start
):
    path = {"open": [], "in_progress": ["in_progress"], "pending": ["in_progress", "pending"]}
    for step in path.get(start, ["resolved"]):
        assert (
            patch_ticket(client, own_ticket["id"], auth(agent.user), status=step).status_code == 200
        )

    response = patch_ticket(client, own_ticket["id"], auth(requester), status="closed")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "closed"
    row = committed_ticket(own_ticket["id"])
    assert row.status == "closed" and row.closed_at is not None
    assert committed_activities(own_ticket["id"])[-1] == (
        "status_changed",
        "status",
        start,
        "closed",
    )


def test_requester_reopens_own_resolved_ticket(client, requester, agent, auth, own_ticket):
    patch_ticket(client, own_ticket["id"], auth(agent.user), status="resolved")

    response = patch_ticket(client, own_ticket["id"], auth(requester), status="open")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "open"
    assert committed_ticket(own_ticket["id"]).status == "open"
    assert committed_activities(own_ticket["id"])[-1] == ("reopened", "status", "resolved", "open")


@pytest.mark.parametrize("target", ["in_progress", "pending", "resolved"])
def test_requester_may_not_move_own_ticket_through_the_workflow(
    client, requester, auth, own_ticket, target
):
    response = patch_ticket(client, own_ticket["id"], auth(requester), status=target)

    assert "status" in assert_problem(response, 403)["errors"]
    assert committed_ticket(own_ticket["id"]).status == "open"


@pytest.mark.parametrize("start", ["in_progress", "pending"])
def test_requester_may_not_set_open_on_a_ticket_that_is_not_resolved(
    client, requester, agent, auth, own_ticket, start
):
    """`open` is the requester's reopen of a resolved ticket, not a general workflow move."""
    for step in ["in_progress", "pending"][: 1 if start == "in_progress" else 2]:
        patch_ticket(client, own_ticket["id"], auth(agent.user), status=step)

    response = patch_ticket(client, own_ticket["id"], auth(requester), status="open")

    assert "status" in assert_problem(response, 403)["errors"]
    assert committed_ticket(own_ticket["id"]).status == start


def test_requester_cannot_reopen_a_closed_ticket(client, requester, auth, own_ticket):
    patch_ticket(client, own_ticket["id"], auth(requester), status="closed")

    response = patch_ticket(client, own_ticket["id"], auth(requester), status="open")

    # Closed is final for everyone but an admin or manager: a conflict with the ticket's state.
    assert "status" in assert_problem(response, 409)["errors"]
    assert committed_ticket(own_ticket["id"]).status == "closed"


@pytest.mark.parametrize("role", ["admin", "manager", "agent", "requester"])
def test_requester_id_in_an_update_is_403_for_every_role(
    client, make_user, requester, agent, admin, manager, auth, own_ticket, role
):
    caller = {"admin": admin, "manager": manager, "agent": agent.user, "requester": requester}[role]
    other = make_user("requester")

    response = patch_ticket(client, own_ticket["id"], auth(caller), requester_id=other.id)

    assert "requester_id" in assert_problem(response, 403, "requester_id")["errors"]
    assert committed_ticket(own_ticket["id"]).requester_id == requester.id


@pytest.mark.parametrize("staff", STAFF_ROLES, indirect=True)
def test_staff_change_priority_assignee_and_status(client, staff, agent, auth, own_ticket):
    response = patch_ticket(
        client,
        own_ticket["id"],
        auth(staff),
        priority="critical",
        assigned_agent_id=agent.id,
        status="in_progress",
    )

    assert response.status_code == 200, response.get_json()
    row = committed_ticket(own_ticket["id"])
    assert (row.priority, row.assigned_agent_id, row.status) == (
        "critical",
        agent.id,
        "in_progress",
    )


def test_unknown_field_in_an_update_is_422(client, admin, auth, own_ticket):
    response = patch_ticket(client, own_ticket["id"], auth(admin), urgency="now")

    assert "urgency" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize("field, value", [("title", ""), ("description", "x" * 20001)])
def test_update_bounds_are_422(client, admin, auth, own_ticket, field, value):
    response = patch_ticket(client, own_ticket["id"], auth(admin), **{field: value})

    assert field in assert_problem(response, 422)["errors"]
    assert committed_ticket(own_ticket["id"]).title == TICKET_BODY["title"]


@pytest.mark.parametrize("assignee", ["unknown", "inactive"])
def test_assigning_an_unknown_or_inactive_agent_is_422_and_changes_nothing(
    client, admin, make_agent, auth, own_ticket, assignee
):
    agent_id = 9999 if assignee == "unknown" else make_agent(is_active=False).id

    response = patch_ticket(
        client, own_ticket["id"], auth(admin), title="Also this", assigned_agent_id=agent_id
    )

    assert "assigned_agent_id" in assert_problem(response, 422)["errors"]
    row = committed_ticket(own_ticket["id"])
    assert (row.assigned_agent_id, row.title) == (None, TICKET_BODY["title"])
    assert len(committed_activities(own_ticket["id"])) == 1


# --- update: the audit trail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, new, action, old",
    [
        ("title", "Now it is the Wi-Fi", "title_changed", TICKET_BODY["title"]),
        ("description", "New details.", "description_changed", TICKET_BODY["description"]),
        ("priority", "critical", "priority_changed", "low"),
        ("category", "network", "category_changed", "software"),
    ],
)
def test_each_field_change_records_its_activity_with_old_and_new(
    client, admin, auth, own_ticket, field, new, action, old
):
    response = patch_ticket(client, own_ticket["id"], auth(admin), **{field: new})

    assert response.status_code == 200, response.get_json()
    assert committed_activities(own_ticket["id"]) == [
        ("created", None, None, None),
        (action, field, old, new),
    ]


def test_several_fields_changed_at_once_record_one_activity_each(
    client, admin, agent, auth, own_ticket
):
    patch_ticket(
        client,
        own_ticket["id"],
        auth(admin),
        title="T2",
        priority="high",
        assigned_agent_id=agent.id,
        status="in_progress",
    )

    assert sorted(committed_activities(own_ticket["id"])[1:]) == sorted(
        [
            ("title_changed", "title", TICKET_BODY["title"], "T2"),
            ("priority_changed", "priority", "low", "high"),
            ("assigned", "assigned_agent_id", None, str(agent.id)),
            ("status_changed", "status", "open", "in_progress"),
        ]
    )


def test_assign_reassign_and_unassign_record_activities(
    client, admin, agent, make_agent, auth, own_ticket
):
    other = make_agent()
    ticket_id = own_ticket["id"]

    patch_ticket(client, ticket_id, auth(admin), assigned_agent_id=agent.id)
    patch_ticket(client, ticket_id, auth(admin), assigned_agent_id=other.id)
    response = patch_ticket(client, ticket_id, auth(admin), assigned_agent_id=None)

    assert response.get_json()["assigned_agent"] is None
    assert committed_activities(ticket_id)[1:] == [
        ("assigned", "assigned_agent_id", None, str(agent.id)),
        ("assigned", "assigned_agent_id", str(agent.id), str(other.id)),
        ("unassigned", "assigned_agent_id", str(other.id), None),
    ]
    assert committed_ticket(ticket_id).assigned_agent_id is None


def test_assigning_an_open_ticket_keeps_it_open(client, agent, auth, own_ticket):
    response = patch_ticket(client, own_ticket["id"], auth(agent.user), assigned_agent_id=agent.id)

    assert response.get_json()["status"] == "open"
    assert response.get_json()["assigned_agent"]["id"] == agent.id
    assert committed_ticket(own_ticket["id"]).status == "open"
    assert [a for a, *_ in committed_activities(own_ticket["id"])] == ["created", "assigned"]


def test_status_change_records_status_changed_and_reopen_records_reopened(
    client, admin, auth, own_ticket
):
    ticket_id = own_ticket["id"]
    for status in ("in_progress", "resolved", "open", "resolved", "closed", "open"):
        assert patch_ticket(client, ticket_id, auth(admin), status=status).status_code == 200

    assert committed_activities(ticket_id)[1:] == [
        ("status_changed", "status", "open", "in_progress"),
        ("status_changed", "status", "in_progress", "resolved"),
        ("reopened", "status", "resolved", "open"),
        ("status_changed", "status", "open", "resolved"),
        ("status_changed", "status", "resolved", "closed"),
        ("reopened", "status", "closed", "open"),
    ]


def test_unchanged_values_record_no_activity_and_keep_updated_at(
    client, admin, agent, auth, own_ticket, freeze_time
):
    ticket_id = own_ticket["id"]
    patch_ticket(client, ticket_id, auth(admin), assigned_agent_id=agent.id)
    before = committed_ticket(ticket_id)
    freeze_time(before.updated_at + timedelta(hours=1))

    response = patch_ticket(
        client,
        ticket_id,
        auth(admin),
        title=TICKET_BODY["title"],
        description=TICKET_BODY["description"],
        priority="low",
        category="software",
        status="open",
        assigned_agent_id=agent.id,
    )

    assert response.status_code == 200, response.get_json()
    assert [a for a, *_ in committed_activities(ticket_id)] == ["created", "assigned"]
    assert committed_ticket(ticket_id).updated_at == before.updated_at


def test_priority_change_records_no_activity_for_recomputed_due_times(
    client, admin, auth, own_ticket
):
    before = committed_ticket(own_ticket["id"])

    patch_ticket(client, own_ticket["id"], auth(admin), priority="critical")

    after = committed_ticket(own_ticket["id"])
    assert after.response_due_at != before.response_due_at
    assert committed_activities(own_ticket["id"])[1:] == [
        ("priority_changed", "priority", "low", "critical")
    ]


def test_first_response_and_resolution_record_only_the_status_activity(
    client, agent, auth, own_ticket
):
    ticket_id = own_ticket["id"]
    post_message(client, ticket_id, auth(agent.user))
    patch_ticket(client, ticket_id, auth(agent.user), status="resolved")

    row = committed_ticket(ticket_id)
    assert row.first_response_at is not None and row.resolved_at is not None
    assert committed_activities(ticket_id)[1:] == [("status_changed", "status", "open", "resolved")]


def test_an_update_bumps_updated_at(client, admin, auth, own_ticket, freeze_time):
    later = freeze_time(datetime.now(UTC) + timedelta(hours=2))

    body = patch_ticket(client, own_ticket["id"], auth(admin), title="Later").get_json()

    assert body["updated_at"] == later.isoformat().replace("+00:00", "Z")
    assert committed_ticket(own_ticket["id"]).updated_at == later


# --- ETag and If-Match ---------------------------------------------------------------------------


def test_get_and_patch_carry_a_strong_etag(client, admin, auth, own_ticket):
    url = f"/api/tickets/{own_ticket['id']}"
    first = client.get(url, headers=auth(admin))
    again = client.get(url, headers=auth(admin))
    patched = client.patch(url, json={"title": "Changed"}, headers=auth(admin))
    after = client.get(url, headers=auth(admin))

    for response in (first, patched, after):
        assert response.headers["ETag"].startswith('"')
        assert not response.headers["ETag"].startswith("W/")
    assert first.headers["ETag"] == again.headers["ETag"]
    assert patched.headers["ETag"] != first.headers["ETag"]
    assert patched.headers["ETag"] == after.headers["ETag"]


def test_if_match_with_the_current_etag_updates(client, admin, auth, own_ticket):
    url = f"/api/tickets/{own_ticket['id']}"
    etag = client.get(url, headers=auth(admin)).headers["ETag"]

    response = client.patch(
        url, json={"title": "Checked"}, headers={**auth(admin), "If-Match": etag}
    )

    assert response.status_code == 200, response.get_json()
    assert committed_ticket(own_ticket["id"]).title == "Checked"


def test_stale_if_match_is_412_and_changes_nothing(client, admin, agent, auth, own_ticket):
    url = f"/api/tickets/{own_ticket['id']}"
    stale = client.get(url, headers=auth(admin)).headers["ETag"]
    client.patch(url, json={"title": "Someone else's edit"}, headers=auth(agent.user))
    before = committed_ticket(own_ticket["id"])
    activities_before = committed_activities(own_ticket["id"])

    response = client.patch(
        url,
        json={"title": "Mine", "priority": "critical", "status": "in_progress"},
        headers={**auth(admin), "If-Match": stale},
    )

    assert_problem(response, 412)
    assert committed_ticket(own_ticket["id"]) == before
    assert committed_activities(own_ticket["id"]) == activities_before


def test_etag_from_a_patch_response_is_accepted_by_the_next_patch(client, agent, auth, own_ticket):
    """Staff see internal notes in `message_count`; the PATCH response must be the same version."""
    ticket_id = own_ticket["id"]
    post_message(client, ticket_id, auth(agent.user), internal=True)
    url = f"/api/tickets/{ticket_id}"

    patched = client.patch(url, json={"title": "One"}, headers=auth(agent.user))
    again = client.patch(
        url,
        json={"title": "Two"},
        headers={**auth(agent.user), "If-Match": patched.headers["ETag"]},
    )

    assert patched.get_json()["message_count"] == 1
    assert again.status_code == 200, again.get_json()
    assert committed_ticket(ticket_id).title == "Two"


# --- delete --------------------------------------------------------------------------------------


def test_admin_deletes_ticket_with_its_messages_and_activities(
    client, admin, agent, requester, auth, own_ticket
):
    ticket_id = own_ticket["id"]
    post_message(client, ticket_id, auth(requester))
    post_message(client, ticket_id, auth(agent.user), internal=True)
    patch_ticket(client, ticket_id, auth(admin), priority="high")
    assert message_count(ticket_id) == 2 and len(committed_activities(ticket_id)) == 2

    response = client.delete(f"/api/tickets/{ticket_id}", headers=auth(admin))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert committed_ticket(ticket_id) is None
    assert message_count(ticket_id) == 0
    assert committed_activities(ticket_id) == []
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0
    assert_problem(client.get(f"/api/tickets/{ticket_id}", headers=auth(admin)), 404)


@pytest.mark.parametrize("role", ["manager", "agent"])
def test_manager_and_agent_may_not_delete_tickets(client, manager, agent, auth, own_ticket, role):
    caller = manager if role == "manager" else agent.user

    response = client.delete(f"/api/tickets/{own_ticket['id']}", headers=auth(caller))

    assert_problem(response, 403)
    assert committed_ticket(own_ticket["id"]) is not None
    assert len(committed_activities(own_ticket["id"])) == 1


def test_requester_deleting_someone_elses_ticket_gets_404(client, make_user, auth, own_ticket):
    stranger = make_user("requester")

    response = client.delete(f"/api/tickets/{own_ticket['id']}", headers=auth(stranger))

    assert_problem(response, 404)
    assert committed_ticket(own_ticket["id"]) is not None


def test_requester_deleting_own_ticket_gets_403(client, requester, auth, own_ticket):
    response = client.delete(f"/api/tickets/{own_ticket['id']}", headers=auth(requester))

    assert_problem(response, 403)
    assert committed_ticket(own_ticket["id"]) is not None


def test_deleting_an_unknown_ticket_is_404(client, admin, auth):
    assert_problem(client.delete("/api/tickets/424242", headers=auth(admin)), 404)


# --- values at the edges of what the databases hold ----------------------------------------------


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=99999999999999999999", "page"),
        ("requester_id=99999999999999999999", "requester_id"),
        ("created_to=9999-12-31", "created_to"),
        ("created_from=0001-01-01T00:00:00%2B01:00", "created_from"),
    ],
)
def test_list_parameters_beyond_the_storable_range_are_422_not_500(
    client, admin, auth, query, field
):
    response = client.get(f"/api/tickets?{query}", headers=auth(admin))

    assert field in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_ticket_id_beyond_any_stored_id_is_404(client, admin, auth, method):
    response = getattr(client, method)(
        "/api/tickets/99999999999999999999", json={"title": "x"}, headers=auth(admin)
    )

    assert_problem(response, 404)


@pytest.mark.parametrize("field", ["requester_id", "assigned_agent_id"])
def test_create_with_an_id_beyond_any_stored_id_is_422(client, admin, auth, field):
    response = client.post(
        "/api/tickets", json={**TICKET_BODY, field: 99999999999999999999}, headers=auth(admin)
    )

    assert field in assert_problem(response, 422)["errors"]
    assert ticket_count() == 0


@pytest.mark.parametrize("field", ["title", "description"])
def test_nul_characters_in_text_are_422(client, requester, auth, own_ticket, field):
    created = client.post(
        "/api/tickets", json={**TICKET_BODY, field: "bad\u0000byte"}, headers=auth(requester)
    )
    updated = patch_ticket(client, own_ticket["id"], auth(requester), **{field: "bad\u0000"})

    assert field in assert_problem(created, 422)["errors"]
    assert field in assert_problem(updated, 422)["errors"]
    assert ticket_count() == 1


def test_concurrent_patches_of_one_ticket_apply_one_after_the_other(
    app, client, auth, agent, requester, monkeypatch
):
    from app.services import tickets as tickets_service
    from tests.concurrency import meet_before, run_concurrently

    ticket = create_ticket(client, auth(requester))
    headers = auth(agent.user)
    meet_before(monkeypatch, tickets_service, "lock_ticket")
    results = run_concurrently(
        app,
        [
            lambda c, title=title: patch_ticket(c, ticket["id"], headers, title=title).status_code
            for title in ("First", "Second")
        ],
    )
    assert results == [200, 200]
    changes = [row for row in committed_activities(ticket["id"]) if row[0] == "title_changed"]
    assert len(changes) == 2
    assert changes[1][2] == changes[0][3]  # the second saw the first's title as the old one
