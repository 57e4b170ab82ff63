"""/api/agents: listing, open ticket counts, creating profiles, and who may change what."""

import pytest

from app.extensions import db
from app.models.user import Agent, User
from tests.helpers import assert_problem, names, pick, stored


def agent_count() -> int:
    return db.session.query(Agent).count()


@pytest.fixture
def crew(make_agent):
    """Four agents with known teams, skills, availability and activity."""
    rows = [
        ("Nina", "Network", ["network"], "available", True),
        ("Hank", "Hardware", ["hardware", "software"], "busy", True),
        ("Sam", "Software", ["software"], "away", False),
        ("adam", None, [], "offline", True),
    ]
    return {
        name: make_agent(name=name, team=team, skills=skills, availability=avail, is_active=active)
        for name, team, skills, avail, active in rows
    }


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_staff_list_agents(client, make_user, auth, crew, role):
    body = client.get("/api/agents", headers=auth(make_user(role))).get_json()
    assert body["total"] == 4
    hank = next(item for item in body["items"] if item["name"] == "Hank")
    assert hank["email"] == crew["Hank"].user.email
    assert hank["user_id"] == crew["Hank"].user_id
    assert pick(hank, "team", "skills", "availability", "max_open_tickets", "is_active") == (
        "Hardware",
        ["hardware", "software"],
        "busy",
        10,
        True,
    )


def test_requester_cannot_list_agents(client, requester, auth, crew):
    body = assert_problem(client.get("/api/agents", headers=auth(requester)), 403)
    assert "items" not in body


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"Nina", "Hank", "Sam", "adam"}),
        ("team=network", {"Nina"}),
        ("team=SOFTWARE", {"Sam"}),
        ("team=Net", set()),
        ("availability=busy,away", {"Hank", "Sam"}),
        ("availability=busy&availability=offline", {"Hank", "adam"}),
        ("skill=software", {"Hank", "Sam"}),
        ("skill=network", {"Nina"}),
        ("skill=access", set()),
        ("is_active=false", {"Sam"}),
        ("is_active=true&skill=software", {"Hank"}),
    ],
)
def test_list_filters(client, manager, auth, crew, query, expected):
    assert set(names(client.get(f"/api/agents?{query}", headers=auth(manager)))) == expected


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["adam", "Hank", "Nina", "Sam"]),
        ("-name", ["Sam", "Nina", "Hank", "adam"]),
        ("team", ["Hank", "Nina", "Sam", "adam"]),
        ("-team", ["Sam", "Nina", "Hank", "adam"]),
    ],
)
def test_list_sorts(client, manager, auth, crew, sort, expected):
    assert names(client.get(f"/api/agents?sort={sort}", headers=auth(manager))) == expected


@pytest.mark.parametrize(
    "query, field",
    [("sort=email", "sort"), ("availability=asleep", "availability"), ("per_page=101", "per_page")],
)
def test_invalid_list_query_gets_422(client, manager, auth, query, field):
    body = assert_problem(client.get(f"/api/agents?{query}", headers=auth(manager)), 422)
    assert list(body["errors"]) == [field]


def test_open_tickets_counts_open_in_progress_and_pending_tickets(
    client, manager, auth, crew, requester, make_ticket
):
    nina, hank = crew["Nina"], crew["Hank"]
    for status in ("open", "in_progress", "pending", "resolved", "closed"):
        make_ticket(requester, assigned_agent_id=nina.id, status=status)
    make_ticket(requester, assigned_agent_id=hank.id, status="pending")
    make_ticket(requester)  # unassigned
    listed = client.get("/api/agents?sort=name", headers=auth(manager)).get_json()["items"]
    assert [item["open_tickets"] for item in listed] == [0, 1, 3, 0]
    one = client.get(f"/api/agents/{nina.id}", headers=auth(manager)).get_json()
    assert one["open_tickets"] == 3


def create(client, headers: dict, **body):
    return client.post("/api/agents", json=body, headers=headers)


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_profile_for_an_existing_requester_makes_them_an_agent(
    client, make_user, auth, requester, role
):
    response = create(client, auth(make_user(role)), user_id=requester.id, team="Access")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/agents/{body['id']}")
    assert pick(body, "user_id", "name", "email", "team") == (
        requester.id,
        requester.name,
        requester.email,
        "Access",
    )
    defaults = pick(body, "skills", "availability", "max_open_tickets", "open_tickets", "is_active")
    assert defaults == ([], "available", 10, 0, True)
    assert stored(User, requester.id)["role"] == "agent"
    assert stored(Agent, body["id"])["user_id"] == requester.id


def test_profile_for_a_manager_keeps_the_manager_role(client, admin, auth, manager):
    assert create(client, auth(admin), user_id=manager.id).status_code == 201
    assert stored(User, manager.id)["role"] == "manager"


def test_profile_with_a_new_user_creates_an_agent_user(client, manager, auth):
    body = {"name": "Neo", "email": "Neo@Example.com", "password": "red-pill-42"}
    response = create(client, auth(manager), **body, skills=["access", "network"])
    assert response.status_code == 201, response.get_json()
    agent = response.get_json()
    assert pick(agent, "name", "email", "skills") == (
        "Neo",
        "neo@example.com",
        ["access", "network"],
    )
    user = stored(User, agent["user_id"])
    assert pick(user, "role", "email", "is_active") == ("agent", "neo@example.com", True)
    login = client.post(
        "/api/auth/login", json={"email": "neo@example.com", "password": "red-pill-42"}
    )
    assert login.get_json()["user"]["agent"]["id"] == agent["id"]


@pytest.mark.parametrize("role", ["agent", "requester"])
def test_only_admins_and_managers_create_agents(client, make_user, auth, requester, role):
    assert_problem(create(client, auth(make_user(role)), user_id=requester.id), 403)
    assert agent_count() == 0
    assert stored(User, requester.id)["role"] == "requester"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"user_id": 9999}, "user_id"),
        ({"name": "Trin", "email": "trin@example.com"}, "password"),
        ({"user_id": 1, "name": "Trin"}, "name"),
        (
            {"name": "T", "email": "t@example.com", "password": "longenough", "skills": ["x"]},
            "skills",
        ),
        ({"name": "T", "email": "t@example.com", "password": "longenough", "level": 3}, "level"),
    ],
)
def test_invalid_agent_body_gets_422_naming_the_field(client, manager, auth, body, field):
    problem = assert_problem(create(client, auth(manager), **body), 422)
    assert field in problem["errors"]
    assert agent_count() == 0
    assert db.session.query(User).count() == 1


def test_user_that_already_has_a_profile_gets_409(client, manager, auth, agent):
    assert_problem(create(client, auth(manager), user_id=agent.user_id, team="Other"), 409)
    assert agent_count() == 1
    assert stored(Agent, agent.id)["team"] == "Software"


def test_new_user_with_a_taken_email_gets_409(client, manager, auth, requester):
    body = {"name": "Dup", "email": requester.email.upper(), "password": "longenough"}
    assert_problem(create(client, auth(manager), **body), 409)
    assert agent_count() == 0


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_staff_read_an_agent_with_etag(client, make_user, auth, crew, role):
    response = client.get(f"/api/agents/{crew['Nina'].id}", headers=auth(make_user(role)))
    assert pick(response.get_json(), "name", "team") == ("Nina", "Network")
    assert response.headers["ETag"].startswith('"')


def test_requester_gets_404_for_an_agent(client, requester, auth, crew):
    body = assert_problem(
        client.get(f"/api/agents/{crew['Nina'].id}", headers=auth(requester)), 404
    )
    assert "Nina" not in body["detail"]
    assert_problem(client.get("/api/agents/9999", headers=auth(requester)), 404)


def update(client, method: str, agent, body: dict, headers: dict):
    return client.open(f"/api/agents/{agent.id}", method=method, json=body, headers=headers)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_change_any_agent_field(client, make_user, auth, crew, method, role):
    body = {"team": "Access", "skills": ["access"], "max_open_tickets": 3, "is_active": False}
    response = update(client, method, crew["Nina"], body, auth(make_user(role)))
    assert response.status_code == 200, response.get_json()
    row = stored(Agent, crew["Nina"].id)
    assert pick(row, "team", "skills", "max_open_tickets", "is_active") == tuple(body.values())
    assert row["availability"] == "available"  # left out, so unchanged


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_agent_changes_its_own_availability(client, auth, crew, method):
    nina = crew["Nina"]
    response = update(client, method, nina, {"availability": "away"}, auth(nina.user))
    assert response.get_json()["availability"] == "away"
    assert stored(Agent, nina.id)["availability"] == "away"


@pytest.mark.parametrize("field, value", [("team", "Access"), ("max_open_tickets", 99)])
def test_agent_cannot_change_other_fields_of_its_profile(client, auth, crew, field, value):
    nina = crew["Nina"]
    body = {"availability": "away", field: value}
    problem = assert_problem(update(client, "PATCH", nina, body, auth(nina.user)), 403, field)
    assert list(problem["errors"]) == [field]
    assert pick(stored(Agent, nina.id), "availability", "team") == ("available", "Network")


def test_agent_cannot_change_another_agents_profile(client, auth, crew):
    response = update(
        client, "PATCH", crew["Hank"], {"availability": "offline"}, auth(crew["Nina"].user)
    )
    assert_problem(response, 403)
    assert stored(Agent, crew["Hank"].id)["availability"] == "busy"


def test_requester_changing_an_agent_gets_404(client, requester, auth, crew):
    assert_problem(
        update(client, "PATCH", crew["Hank"], {"availability": "away"}, auth(requester)), 404
    )
    assert stored(Agent, crew["Hank"].id)["availability"] == "busy"


def test_stale_if_match_gets_412_and_changes_nothing(client, manager, auth, crew):
    url = f"/api/agents/{crew['Hank'].id}"
    stale = client.get(url, headers=auth(manager)).headers["ETag"]
    fresh = update(client, "PATCH", crew["Hank"], {"team": "Network"}, auth(manager)).headers[
        "ETag"
    ]
    assert fresh != stale and client.get(url, headers=auth(manager)).headers["ETag"] == fresh
    headers = {**auth(manager), "If-Match": stale}
    assert_problem(update(client, "PUT", crew["Hank"], {"team": "Access"}, headers), 412)
    assert stored(Agent, crew["Hank"].id)["team"] == "Network"
    headers["If-Match"] = fresh
    assert update(client, "PUT", crew["Hank"], {"team": "Access"}, headers).status_code == 200


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_delete_an_unreferenced_agent(client, make_user, auth, agent, role):
    response = client.delete(f"/api/agents/{agent.id}", headers=auth(make_user(role)))
    assert response.status_code == 204 and response.get_data() == b""
    assert stored(Agent, agent.id) is None
    assert stored(User, agent.user_id) is not None


def test_agent_cannot_delete_a_profile(client, auth, agent):
    assert_problem(client.delete(f"/api/agents/{agent.id}", headers=auth(agent.user)), 403)
    assert stored(Agent, agent.id) is not None


def test_requester_deleting_an_agent_gets_404(client, requester, auth, agent):
    assert_problem(client.delete(f"/api/agents/{agent.id}", headers=auth(requester)), 404)
    assert stored(Agent, agent.id) is not None


def test_deleting_an_agent_a_ticket_references_gets_409(
    client, manager, auth, agent, requester, make_ticket
):
    make_ticket(requester, assigned_agent_id=agent.id, status="closed")
    response = client.delete(f"/api/agents/{agent.id}", headers=auth(manager))
    assert_problem(response, 409, "deactivate")
    assert stored(Agent, agent.id)["is_active"] is True
