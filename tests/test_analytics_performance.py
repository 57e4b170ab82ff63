"""Agent performance: a row per active agent, window on created_at, and who sees which rows."""

import pytest

from tests.helpers import assert_problem
from tests.test_analytics import DAY, HOUR, MINUTE, NOW, WINDOW, add_ticket, at

NO_TICKETS = {
    "assigned": 0,
    "resolved": 0,
    "open_now": 0,
    "avg_first_response_seconds": None,
    "avg_resolution_seconds": None,
    "response_adherence_pct": None,
    "resolution_adherence_pct": None,
}


@pytest.fixture
def team(freeze_time, make_agent, make_user, make_ticket):
    """Alice and Bob with known tickets, Carl with none, and two agents who are not active."""
    freeze_time(NOW)
    alice = make_agent(name="Alice", team="Network", max_open_tickets=4)
    bob = make_agent(name="bob", team="Hardware", max_open_tickets=0)
    carl = make_agent(name="Carl", team=None)
    dave = make_agent(name="Dave", team="Network", is_active=False)
    eve = make_agent(name="Eve", team="Network", is_active_user=False)
    requester = make_user("requester")

    def add(agent, created, due, responded=None, resolved=None, **fields):
        fields.setdefault("status", "open" if resolved is None else "resolved")
        agent_id = agent.id if agent else None
        return add_ticket(
            make_ticket,
            requester,
            created,
            due,
            responded,
            resolved,
            assigned_agent_id=agent_id,
            **fields,
        )

    # Alice: responses after 30 min (met), 2 h (late), 1 h (met): 4200 s on average;
    # resolutions after 4 h (met) and 10 h (late): 25200 s; q3 is open and past its due time.
    add(alice, "2026-03-02T00:00:00Z", (HOUR, 8 * HOUR), 30 * MINUTE, 4 * HOUR)
    add(alice, "2026-03-03T00:00:00Z", (HOUR, 8 * HOUR), 2 * HOUR, 10 * HOUR, status="closed")
    add(alice, "2026-03-04T00:00:00Z", (4 * HOUR, DAY), HOUR, status="in_progress")
    # Outside the window but open now: they count in open_now only.
    add(alice, "2026-02-20T00:00:00Z", (4 * HOUR, DAY))
    add(alice, "2026-03-10T00:00:00Z", (4 * HOUR, DAY), status="pending")
    # Bob: q6 never answered (both breached); q7 answered in 10 min and paused before its due.
    add(bob, "2026-03-05T00:00:00Z", (15 * MINUTE, 4 * HOUR))
    paused_at = at("2026-03-06T01:00:00Z")
    add(
        bob,
        "2026-03-06T00:00:00Z",
        (15 * MINUTE, 4 * HOUR),
        10 * MINUTE,
        status="pending",
        sla_paused_at=paused_at,
    )
    # Inactive agents' and unassigned tickets show up in no row.
    add(dave, "2026-03-05T00:00:00Z", (HOUR, DAY))
    add(eve, "2026-03-05T00:00:00Z", (HOUR, DAY))
    add(None, "2026-03-05T00:00:00Z", (HOUR, DAY))
    return {"alice": alice, "bob": bob, "carl": carl}


def performance(client, headers, query: str = "") -> dict:
    response = client.get(f"/api/agents/performance?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def row(agent, **values) -> dict:
    return {"agent_id": agent.id, "name": agent.name, "team": agent.team, **values}


def test_performance_has_a_row_per_active_agent(client, auth, manager, team):
    body = performance(client, auth(manager), WINDOW)
    assert (body["from"], body["to"]) == ("2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z")
    assert body["agents"] == [
        row(
            team["alice"],
            assigned=3,
            resolved=2,
            open_now=3,  # q3, and the two outside the window
            avg_first_response_seconds=4200.0,
            avg_resolution_seconds=25200.0,
            response_adherence_pct=66.67,  # 2 of 3
            resolution_adherence_pct=33.33,  # q1 met; q2 late, q3 past due
            load_pct=75.0,  # 3 of 4
        ),
        row(
            team["bob"],
            assigned=2,
            resolved=0,
            open_now=2,
            avg_first_response_seconds=600.0,
            avg_resolution_seconds=None,
            response_adherence_pct=50.0,
            resolution_adherence_pct=0.0,  # q6 past due; q7 paused in time counts neither way
            load_pct=None,  # max_open_tickets is 0
        ),
        row(team["carl"], **NO_TICKETS, load_pct=0.0),
    ]


def test_performance_agrees_with_sla_adherence_by_agent(client, auth, manager, team):
    headers = auth(manager)
    rows = {r["agent_id"]: r for r in performance(client, headers, WINDOW)["agents"]}
    path = f"/api/tickets/analytics/sla-adherence?{WINDOW}&group_by=agent"
    response = client.get(path, headers=headers)
    for group in response.get_json()["groups"]:
        if group["key"] in rows:
            mine = rows[group["key"]]
            assert (mine["assigned"], mine["resolved"]) == (group["tickets"], group["resolved"])
            for name in ("response_adherence_pct", "resolution_adherence_pct"):
                assert mine[name] == group[name]


@pytest.mark.parametrize(
    "query, names",
    [("team=network", ["Alice"]), ("team=HARDWARE", ["bob"]), ("team=Sales", [])],
)
def test_performance_within_a_team(client, auth, admin, team, query, names):
    agents = performance(client, auth(admin), f"{WINDOW}&{query}")["agents"]
    assert [agent["name"] for agent in agents] == names


def test_an_agent_sees_only_its_own_row(client, auth, team):
    bob = team["bob"]
    agents = performance(client, auth(bob.user), WINDOW)["agents"]
    assert [agent["agent_id"] for agent in agents] == [bob.id]
    assert agents[0]["assigned"] == 2
    assert performance(client, auth(bob.user), f"{WINDOW}&team=Network")["agents"] == []


def test_a_requester_may_not_see_performance(client, auth, team, requester):
    assert_problem(client.get("/api/agents/performance", headers=auth(requester)), 403)


def test_performance_window_edges_and_default(client, auth, manager, team):
    headers = auth(manager)
    # `from` inclusive (q1 at 03-02 00:00), `to` exclusive (q1 is excluded when it ends there).
    alice = performance(client, headers, "from=2026-03-02T00:00:00Z&to=2026-03-02T00:00:01Z")
    assert alice["agents"][0]["assigned"] == 1
    none = performance(client, headers, "from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z")
    assert [r["assigned"] for r in none["agents"]] == [0, 0, 0]
    assert none["agents"][0]["open_now"] == 3  # open now whatever the window
    # Default: [02-08 12:00, 03-10 12:00) also holds Alice's tickets of 02-20 and 03-10.
    body = performance(client, headers)
    assert (body["from"], body["to"]) == ("2026-02-08T12:00:00Z", NOW)
    assert [r["assigned"] for r in body["agents"]] == [5, 2, 0]
