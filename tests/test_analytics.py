"""What every report shares: roles, bad input, the OpenAPI spec and a fixed number of queries.

Also the helpers of the report tests (test_analytics_*.py): tickets are written straight to the
database at chosen times, and every expected number is worked out by hand next to the data.
"""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from tests.helpers import assert_problem, recorded_statements

NOW = "2026-03-10T12:00:00Z"  # a Tuesday
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
REPORTS = (
    "/api/tickets/analytics/sla-adherence",
    "/api/tickets/analytics/aging",
    "/api/tickets/analytics/volume",
    "/api/agents/performance",
)
WINDOW = "from=2026-03-01&to=2026-03-09"  # [03-01T00:00, 03-10T00:00)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def add_ticket(make_ticket, requester, created: str, due, responded=None, resolved=None, **fields):
    """A ticket created at `created`, due `due` = (response, resolution) later, responded and
    resolved after the given delays (None: not yet)."""
    start = at(created)
    return make_ticket(
        requester,
        created_at=start,
        response_due_at=start + due[0],
        resolution_due_at=start + due[1],
        first_response_at=None if responded is None else start + responded,
        resolved_at=None if resolved is None else start + resolved,
        **fields,
    )


# --- shared rules: roles and bad input ---------------------------------------------------------


@pytest.mark.parametrize("path", REPORTS)
def test_requesters_may_not_see_reports(client, auth, requester, path):
    assert_problem(client.get(path, headers=auth(requester)), 403)


@pytest.mark.parametrize("path", REPORTS)
def test_reports_need_a_token(client, path):
    assert_problem(client.get(path), 401)


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_staff_see_reports(client, make_user, make_agent, auth, path, role):
    user = make_agent(role).user if role != "admin" else make_user("admin")
    assert client.get(path, headers=auth(user)).status_code == 200


@pytest.mark.parametrize("path", [p for p in REPORTS if "aging" not in p])
def test_from_after_to_is_422(client, auth, manager, path):
    body = assert_problem(
        client.get(f"{path}?from=2026-03-02&to=2026-03-01", headers=auth(manager)), 422
    )
    assert body["errors"] == {"from": ["Must not be after `to`."]}


@pytest.mark.parametrize(
    "path, query, field, allowed",
    [
        ("sla-adherence", "group_by=status", "group_by", "priority, category, team, agent"),
        ("aging", "group_by=agent", "group_by", "priority, category, status, team"),
        ("volume", "interval=month", "interval", "day, week"),
        ("volume", "from=yesterday", "from", "YYYY-MM-DD"),
        ("sla-adherence", "to=2026-02-30", "to", "YYYY-MM-DD"),
        ("sla-adherence", "to=0001-01-02", "to", "give `from` too"),  # 30 days before year 1
    ],
)
def test_unknown_choices_and_bad_times_are_422_saying_what_is_allowed(
    client, auth, manager, path, query, field, allowed
):
    response = client.get(f"/api/tickets/analytics/{path}?{query}", headers=auth(manager))
    body = assert_problem(response, 422, field)
    assert list(body["errors"]) == [field]
    assert allowed in body["errors"][field][0]


@pytest.mark.parametrize(
    "query, status",
    [
        ("from=2023-01-01&to=2025-09-26", 200),  # 1000 days
        ("from=2023-01-01&to=2025-09-27", 422),  # 1001 days
        ("from=2023-01-01T12:00:00Z&to=2025-09-26T00:00:01Z", 200),  # 1000 days touched
        ("from=2023-01-01T12:00:00Z&to=2025-09-27T00:00:01Z", 422),  # 1001 days touched
        # 2000-01-01 is a Saturday: weeks from Monday 1999-12-27, the 1000th from 2019-02-18.
        ("from=2000-01-01&to=2019-02-24&interval=week", 200),
        ("from=2000-01-01&to=2019-02-25&interval=week", 422),
    ],
)
def test_volume_allows_at_most_1000_periods(client, auth, manager, query, status):
    response = client.get(f"/api/tickets/analytics/volume?{query}", headers=auth(manager))
    if status == 200:
        assert response.status_code == 200 and len(response.get_json()["series"]) == 1000
    else:
        body = assert_problem(response, 422)
        assert "at most 1000 periods" in body["errors"]["to"][0]


def test_reports_are_in_the_openapi_spec(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in REPORTS:
        operation = spec["paths"][path]["get"]
        assert {"200", "401", "403", "422"} <= set(operation["responses"])
    parameters = spec["paths"][REPORTS[0]]["get"]["parameters"]
    assert {p["name"] for p in parameters} == {"from", "to", "group_by"}
    aging = {p["name"] for p in spec["paths"][REPORTS[1]]["get"]["parameters"]}
    assert {"status", "priority", "assigned_agent_id", "q", "breached", "group_by"} <= aging
    assert not {"page", "per_page", "sort"} & aging


# --- a fixed number of queries per report -------------------------------------------------------


def statements_for(client, headers, path: str) -> int:
    db.session.expire_all()
    with recorded_statements() as statements:
        assert client.get(path, headers=headers).status_code == 200
    return len(statements)


def test_each_report_runs_the_same_number_of_queries_however_much_data(
    client, auth, manager, freeze_time, make_agent, make_ticket, requester
):
    freeze_time(NOW)
    headers = auth(manager)
    paths = [
        f"{path}?group_by=team" if "analytics/s" in path or "aging" in path else path
        for path in REPORTS
    ]
    first = make_agent(name="First")
    add_ticket(
        make_ticket, requester, "2026-03-09T00:00:00Z", (HOUR, DAY), assigned_agent_id=first.id
    )
    small = [statements_for(client, headers, path) for path in paths]
    for index in range(12):
        someone = make_agent(name=f"Agent {index}", team=f"Team {index % 4}")
        created = (at(NOW) - (index * 3 + 1) * DAY).isoformat()
        add_ticket(
            make_ticket,
            requester,
            created,
            (HOUR, DAY),
            HOUR,
            2 * HOUR,
            assigned_agent_id=someone.id,
            status="resolved",
            priority="high",
        )
        add_ticket(make_ticket, requester, created, (HOUR, DAY), category="network")
    assert [statements_for(client, headers, path) for path in paths] == small
