"""/api/sla: calendars and policies through HTTP, business time on a calendar, and matching."""

import importlib

import pytest
from sqlalchemy import inspect, select, text

from app.extensions import db
from app.models.sla import SlaCalendar, SlaPolicy
from app.models.user import User
from app.services import sla, sla_policies, ticket_sla
from config import Config
from tests.conftest import migrated_default_policy
from tests.helpers import assert_problem, names, stored

WEEKDAY_HOURS = {
    day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")
}
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def targets(response: int = 30, resolution: int = 480) -> dict:
    return {
        priority: {"response_minutes": response, "resolution_minutes": resolution}
        for priority in ("critical", "high", "medium", "low")
    }


def calendar_body(**overrides) -> dict:
    return {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "working_hours": WEEKDAY_HOURS,
        **overrides,
    }


def policy_body(**overrides) -> dict:
    return {"name": "Network desk", "targets": targets(), **overrides}


@pytest.fixture
def writer(manager, auth):
    return auth(manager)


@pytest.fixture
def make_calendar(client, writer):
    def make(**overrides) -> dict:
        response = client.post(
            "/api/sla/calendars", json=calendar_body(**overrides), headers=writer
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def make_policy(client, writer):
    def make(**overrides) -> dict:
        response = client.post("/api/sla/policies", json=policy_body(**overrides), headers=writer)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def default_policy_json(client, headers) -> dict:
    items = client.get("/api/sla/policies", headers=headers).get_json()["items"]
    (default,) = [item for item in items if item["is_default"]]
    return default


# --- the default policy and the migration ---


def configured_targets() -> dict:
    return {
        priority: {"response_minutes": response, "resolution_minutes": resolution}
        for priority, (response, resolution) in Config.SLA_TARGETS.items()
    }


def test_migration_creates_the_default_policy_with_the_configured_targets(client, agent, auth):
    assert migrated_default_policy()["targets"] == configured_targets()
    response = client.get("/api/sla/policies", headers=auth(agent.user))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1
    (default,) = body["items"]
    assert default["name"] == "Default"
    assert (default["position"], default["is_active"], default["is_default"]) == (0, True, True)
    assert default["conditions"] == {}
    assert default["calendar_id"] is None
    assert default["targets"] == configured_targets()
    assert default["created_at"].endswith("Z")


def test_migration_reads_the_targets_as_config_does(monkeypatch):
    monkeypatch.setenv("SLA_HIGH_RESPONSE_MINUTES", "7")
    monkeypatch.setenv("SLA_LOW_RESOLUTION_MINUTES", "9999")
    config = importlib.reload(importlib.import_module("config"))
    try:
        migration = importlib.import_module("migrations.versions.0006_sla_policies")
        migration = importlib.reload(migration)
        expected = {
            priority: {"response_minutes": response, "resolution_minutes": resolution}
            for priority, (response, resolution) in config.Config.SLA_TARGETS.items()
        }
        assert migration.default_targets() == expected
        assert expected["high"]["response_minutes"] == 7
        assert expected["low"]["resolution_minutes"] == 9999
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_tickets_sla_policy_id_restricts_deleting_its_policy():
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            rows = connection.execute(text("PRAGMA foreign_key_list(tickets)")).all()
        (row,) = [row for row in rows if row[3] == "sla_policy_id"]
        assert (row[2], row[4], row[6]) == ("sla_policies", "id", "RESTRICT")
    else:
        keys = inspect(db.engine).get_foreign_keys("tickets")
        (key,) = [key for key in keys if key["constrained_columns"] == ["sla_policy_id"]]
        assert key["referred_table"] == "sla_policies"
        assert key["options"]["ondelete"] == "RESTRICT"


def test_ticket_representation_does_not_show_the_policy(
    client, admin, auth, make_ticket, requester
):
    ticket = make_ticket(requester)
    body = client.get(f"/api/tickets/{ticket.id}", headers=auth(admin)).get_json()
    assert body["id"] == ticket.id
    assert "sla_policy_id" not in body


# --- calendars ---


def test_calendar_create_get_update_delete_round_trip(client, writer, agent, auth):
    body = calendar_body(
        working_hours={
            "mon": [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}],
            "sat": [{"start": "10:00", "end": "24:00"}],
        },
        holidays=[{"date": "2026-12-25", "name": "Christmas"}, {"date": "2026-01-01"}],
        holiday_country="de",
        holiday_subdivision="by",
    )
    response = client.post("/api/sla/calendars", json=body, headers=writer)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert response.headers["Location"].endswith(f"/api/sla/calendars/{created['id']}")
    assert created["name"] == "Berlin office"
    assert created["time_zone"] == "Europe/Berlin"
    assert created["working_hours"] == {
        "mon": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [],
        "sat": [{"start": "10:00", "end": "24:00"}],
        "sun": [],
    }
    assert created["holidays"] == [
        {"date": "2026-01-01", "name": ""},
        {"date": "2026-12-25", "name": "Christmas"},
    ]
    assert (created["holiday_country"], created["holiday_subdivision"]) == ("DE", "BY")
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")
    assert stored(SlaCalendar, created["id"])["holiday_country"] == "DE"

    read = client.get(response.headers["Location"], headers=auth(agent.user))
    assert read.status_code == 200
    assert read.get_json() == created
    etag = read.headers["ETag"]

    changed = client.patch(
        f"/api/sla/calendars/{created['id']}",
        json={"name": "Munich office", "holiday_subdivision": None, "holiday_country": None},
        headers={**writer, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["name"] == "Munich office"
    assert changed.get_json()["holiday_country"] is None
    assert changed.get_json()["working_hours"] == created["working_hours"]
    assert changed.headers["ETag"] != etag

    stale = client.put(
        f"/api/sla/calendars/{created['id']}",
        json={"name": "Hamburg office"},
        headers={**writer, "If-Match": etag},
    )
    assert_problem(stale, 412)
    assert stored(SlaCalendar, created["id"])["name"] == "Munich office"

    listing = client.get("/api/sla/calendars", headers=auth(agent.user))
    assert names(listing) == ["Munich office"]
    assert listing.get_json()["total"] == 1

    assert client.delete(f"/api/sla/calendars/{created['id']}", headers=writer).status_code == 204
    assert_problem(client.get(f"/api/sla/calendars/{created['id']}", headers=writer), 404)
    assert stored(SlaCalendar, created["id"]) is None


def test_calendar_list_is_paginated(client, writer, make_calendar):
    for number in range(3):
        make_calendar(name=f"Desk {number}")
    page = client.get("/api/sla/calendars?per_page=2&page=2", headers=writer).get_json()
    assert [item["name"] for item in page["items"]] == ["Desk 2"]
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 3, 2)
    assert_problem(client.get("/api/sla/calendars?per_page=101", headers=writer), 422)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"working_hours": {"mon": [{"start": "17:00", "end": "09:00"}]}}, "working_hours"),
        ({"working_hours": {"mon": [{"start": "09:00", "end": "09:00"}]}}, "working_hours"),
        (
            {
                "working_hours": {
                    "tue": [{"start": "09:00", "end": "12:30"}, {"start": "12:00", "end": "17:00"}]
                }
            },
            "working_hours",
        ),
        ({"working_hours": {}}, "working_hours"),
        ({"working_hours": {day: [] for day in ALL_DAYS}}, "working_hours"),
        ({"working_hours": {"mon": [{"start": "9:00", "end": "17:00"}]}}, "working_hours"),
        ({"working_hours": {"mon": [{"start": "09:00", "end": "24:30"}]}}, "working_hours"),
        ({"working_hours": {"monday": [{"start": "09:00", "end": "17:00"}]}}, "working_hours"),
        ({"working_hours": {"mon": [{"start": "09:00"}]}}, "working_hours"),
        ({"holidays": [{"date": "2026-02-30"}]}, "holidays"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
        ({"holiday_subdivision": "BY"}, "holiday_subdivision"),
        ({"name": ""}, "name"),
        ({"colour": "blue"}, "colour"),
        ({"id": 5}, "id"),
    ],
)
def test_invalid_calendar_gets_422_naming_the_field(client, writer, overrides, field):
    response = client.post("/api/sla/calendars", json=calendar_body(**overrides), headers=writer)
    body = assert_problem(response, 422)
    assert field in body["errors"], body
    assert db.session.query(SlaCalendar).count() == 0


def test_invalid_calendar_change_gets_422_and_changes_nothing(client, writer, make_calendar):
    calendar = make_calendar()
    url = f"/api/sla/calendars/{calendar['id']}"
    body = assert_problem(
        client.patch(url, json={"time_zone": "Europe/Atlantis"}, headers=writer), 422
    )
    assert list(body["errors"]) == ["time_zone"]
    closed = {day: [] for day in ALL_DAYS}
    body = assert_problem(client.put(url, json={"working_hours": closed}, headers=writer), 422)
    assert list(body["errors"]) == ["working_hours"]
    assert client.get(url, headers=writer).get_json() == calendar


def test_duplicate_calendar_name_gets_409(client, writer, make_calendar):
    make_calendar(name="Berlin")
    other = make_calendar(name="Paris", time_zone="Europe/Paris")
    body = assert_problem(
        client.post("/api/sla/calendars", json=calendar_body(name="Berlin"), headers=writer), 409
    )
    assert "name" in body["errors"]
    renamed = client.patch(
        f"/api/sla/calendars/{other['id']}", json={"name": "Berlin"}, headers=writer
    )
    assert_problem(renamed, 409)
    assert stored(SlaCalendar, other["id"])["name"] == "Paris"


def test_calendar_used_by_a_policy_cannot_be_deleted(client, writer, make_calendar, make_policy):
    calendar = make_calendar()
    policy = make_policy(calendar_id=calendar["id"])
    assert_problem(client.delete(f"/api/sla/calendars/{calendar['id']}", headers=writer), 409)
    assert stored(SlaCalendar, calendar["id"]) is not None
    # Also when the default policy uses it.
    client.delete(f"/api/sla/policies/{policy['id']}", headers=writer)
    default = default_policy_json(client, writer)
    client.patch(
        f"/api/sla/policies/{default['id']}", json={"calendar_id": calendar["id"]}, headers=writer
    )
    assert_problem(client.delete(f"/api/sla/calendars/{calendar['id']}", headers=writer), 409)
    client.patch(f"/api/sla/policies/{default['id']}", json={"calendar_id": None}, headers=writer)
    assert client.delete(f"/api/sla/calendars/{calendar['id']}", headers=writer).status_code == 204


# --- business time on a calendar ---


def test_due_on_friday_afternoon_is_monday_morning(client, agent, auth, make_calendar):
    calendar = make_calendar()
    # Friday 2026-03-06 15:30 UTC is 16:30 in Berlin (CET, UTC+1): 30 minutes left on Friday,
    # the other 30 from Monday 09:00, so due Monday 09:30 local = 08:30 UTC.
    response = client.get(
        f"/api/sla/calendars/{calendar['id']}/due?start=2026-03-06T15:30:00Z&minutes=60",
        headers=auth(agent.user),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "start": "2026-03-06T15:30:00Z",
        "minutes": 60,
        "due_at": "2026-03-09T08:30:00Z",
    }


def test_due_accepts_a_date_and_offsets(client, writer, make_calendar):
    calendar = make_calendar(holidays=[{"date": "2026-03-09", "name": "Closed"}])
    url = f"/api/sla/calendars/{calendar['id']}/due"
    # Saturday 2026-03-07 00:00 UTC; Monday is a holiday: Tuesday 09:00-09:30 local.
    body = client.get(f"{url}?start=2026-03-07&minutes=30", headers=writer).get_json()
    assert body == {
        "start": "2026-03-07T00:00:00Z",
        "minutes": 30,
        "due_at": "2026-03-10T08:30:00Z",
    }
    # 16:00+01:00 is 15:00 UTC, 16:00 local: one hour left on Friday, ends exactly at 17:00.
    body = client.get(
        f"{url}?start=2026-03-06T16:00:00%2B01:00&minutes=60", headers=writer
    ).get_json()
    assert body["start"] == "2026-03-06T15:00:00Z"
    assert body["due_at"] == "2026-03-06T16:00:00Z"


@pytest.mark.parametrize(
    ("subdivision", "due_at"), [("BY", "2026-01-07T08:30:00Z"), (None, "2026-01-06T08:30:00Z")]
)
def test_due_skips_the_public_holidays_of_the_region(
    client, writer, make_calendar, subdivision, due_at
):
    calendar = make_calendar(holiday_country="DE", holiday_subdivision=subdivision)
    # Monday 2026-01-05 16:30 local (CET): 30 minutes on Monday; Tuesday 6 January is Epiphany,
    # a public holiday in Bavaria but not in all of Germany: the other 30 minutes end 09:30 on
    # Wednesday in Bavaria, on Tuesday elsewhere.
    response = client.get(
        f"/api/sla/calendars/{calendar['id']}/due?start=2026-01-05T15:30:00Z&minutes=60",
        headers=writer,
    )
    assert response.get_json()["due_at"] == due_at


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-06T15:30:00Z&minutes=0", "minutes"),
        ("start=2026-03-06T15:30:00Z&minutes=-5", "minutes"),
        ("start=2026-03-06T15:30:00Z&minutes=abc", "minutes"),
        ("start=2026-03-06T15:30:00Z", "minutes"),
        ("minutes=60", "start"),
        ("start=friday&minutes=60", "start"),
        ("start=9999-12-31T12:00:00Z&minutes=600000", "minutes"),
    ],
)
def test_due_with_bad_arguments_gets_422(client, writer, make_calendar, query, field):
    calendar = make_calendar()
    response = client.get(f"/api/sla/calendars/{calendar['id']}/due?{query}", headers=writer)
    assert field in assert_problem(response, 422)["errors"]


def test_business_seconds_between_friday_and_monday(client, agent, auth, make_calendar):
    calendar = make_calendar()
    url = f"/api/sla/calendars/{calendar['id']}/business-seconds"
    response = client.get(
        f"{url}?from=2026-03-06T15:30:00Z&to=2026-03-09T08:30:00Z", headers=auth(agent.user)
    )
    assert response.status_code == 200, response.get_json()
    # Friday 16:30-17:00 and Monday 09:00-09:30 local: 3,600 seconds.
    assert response.get_json() == {
        "from": "2026-03-06T15:30:00Z",
        "to": "2026-03-09T08:30:00Z",
        "seconds": 3600,
    }
    # A date as `to` includes that whole UTC day: Monday 09:00-17:00 local.
    body = client.get(f"{url}?from=2026-03-09&to=2026-03-09", headers=auth(agent.user)).get_json()
    assert (body["from"], body["to"], body["seconds"]) == (
        "2026-03-09T00:00:00Z",
        "2026-03-10T00:00:00Z",
        28800,
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-09T08:30:00Z&to=2026-03-06T15:30:00Z", "from"),
        ("from=2026-03-09T08:30:00Z", "to"),
        ("to=2026-03-09T08:30:00Z", "from"),
        ("from=0001-01-01&to=9999-12-30", "to"),
        ("from=2026-13-01&to=2026-12-01", "from"),
    ],
)
def test_business_seconds_with_bad_arguments_gets_422(client, writer, make_calendar, query, field):
    calendar = make_calendar()
    response = client.get(
        f"/api/sla/calendars/{calendar['id']}/business-seconds?{query}", headers=writer
    )
    assert field in assert_problem(response, 422)["errors"]


def test_business_time_of_an_unknown_calendar_is_404(client, writer):
    assert_problem(
        client.get("/api/sla/calendars/99/due?start=2026-03-06&minutes=5", headers=writer), 404
    )
    assert_problem(
        client.get(
            "/api/sla/calendars/99/business-seconds?from=2026-03-06&to=2026-03-07", headers=writer
        ),
        404,
    )


# --- policies ---


def test_policy_create_get_update_delete_round_trip(client, writer, agent, auth, make_calendar):
    calendar = make_calendar()
    body = policy_body(
        position=3,
        conditions={
            "priority": ["high", "critical"],
            "category": ["network"],
            "requester_department": ["IT"],
        },
        calendar_id=calendar["id"],
        targets={**targets(), "critical": {"response_minutes": 15, "resolution_minutes": 240}},
    )
    response = client.post("/api/sla/policies", json=body, headers=writer)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert response.headers["Location"].endswith(f"/api/sla/policies/{created['id']}")
    assert {key: created[key] for key in body} == body
    assert (created["is_active"], created["is_default"]) == (True, False)

    read = client.get(response.headers["Location"], headers=auth(agent.user))
    assert read.get_json() == created
    etag = read.headers["ETag"]

    changed = client.put(
        f"/api/sla/policies/{created['id']}",
        json={"position": -1, "is_active": False, "calendar_id": None},
        headers={**writer, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.get_json()
    after = changed.get_json()
    assert (after["position"], after["is_active"], after["calendar_id"]) == (-1, False, None)
    assert after["conditions"] == body["conditions"] and after["targets"] == body["targets"]
    assert_problem(
        client.patch(
            f"/api/sla/policies/{created['id']}",
            json={"name": "x"},
            headers={**writer, "If-Match": etag},
        ),
        412,
    )
    assert stored(SlaPolicy, created["id"])["position"] == -1

    assert client.delete(f"/api/sla/policies/{created['id']}", headers=writer).status_code == 204
    assert_problem(client.get(f"/api/sla/policies/{created['id']}", headers=writer), 404)


def test_policies_are_listed_by_position_then_id(client, writer, make_policy):
    make_policy(name="Late", position=50)
    make_policy(name="Early B", position=-5)
    make_policy(name="Early A", position=-5)
    make_policy(name="Middle", position=0)
    assert names(client.get("/api/sla/policies", headers=writer)) == [
        "Early B",
        "Early A",
        "Default",
        "Middle",
        "Late",
    ]


def without(mapping: dict, key: str) -> dict:
    return {name: value for name, value in mapping.items() if name != key}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"targets": without(targets(), "low")}, "targets"),
        (
            {"targets": {**targets(), "high": {"response_minutes": 0, "resolution_minutes": 60}}},
            "targets",
        ),
        ({"targets": {**targets(), "medium": {"response_minutes": 10}}}, "targets"),
        (
            {"targets": {**targets(), "urgent": {"response_minutes": 1, "resolution_minutes": 1}}},
            "targets",
        ),
        (
            {"targets": {**targets(), "low": {"response_minutes": 1.5, "resolution_minutes": 2}}},
            "targets",
        ),
        ({"conditions": {"priority": ["urgent"]}}, "conditions"),
        ({"conditions": {"category": ["plumbing"]}}, "conditions"),
        ({"conditions": {"status": ["open"]}}, "conditions"),
        ({"conditions": {"requester_department": "IT"}}, "conditions"),
        ({"calendar_id": 12345}, "calendar_id"),
        ({"calendar_id": 0}, "calendar_id"),
        ({"position": 2**31}, "position"),
        ({"is_default": True}, "is_default"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_policy_gets_422_naming_the_field(client, writer, overrides, field):
    response = client.post("/api/sla/policies", json=policy_body(**overrides), headers=writer)
    body = assert_problem(response, 422)
    assert field in body["errors"], body
    assert db.session.query(SlaPolicy).count() == 1  # the default only


def test_policy_without_targets_or_name_gets_422(client, writer):
    body = assert_problem(client.post("/api/sla/policies", json={"name": "x"}, headers=writer), 422)
    assert "targets" in body["errors"]
    body = assert_problem(
        client.post("/api/sla/policies", json={"targets": targets()}, headers=writer), 422
    )
    assert "name" in body["errors"]


def test_is_default_cannot_be_changed(client, writer, make_policy):
    policy = make_policy()
    default = default_policy_json(client, writer)
    for target in (policy, default):
        response = client.patch(
            f"/api/sla/policies/{target['id']}", json={"is_default": False}, headers=writer
        )
        assert "is_default" in assert_problem(response, 422)["errors"]
    assert stored(SlaPolicy, default["id"])["is_default"] is True
    assert stored(SlaPolicy, policy["id"])["is_default"] is False


def test_default_policy_may_change_name_targets_and_calendar(client, writer, make_calendar):
    calendar = make_calendar()
    default = default_policy_json(client, writer)
    new_targets = targets(response=5, resolution=50)
    response = client.patch(
        f"/api/sla/policies/{default['id']}",
        json={
            "name": "Standard",
            "targets": new_targets,
            "calendar_id": calendar["id"],
            "position": 99,
            "is_active": True,
            "conditions": {"priority": [], "category": []},
        },
        headers=writer,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["targets"], body["calendar_id"]) == (
        "Standard",
        new_targets,
        calendar["id"],
    )
    assert body["is_default"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conditions": {"priority": ["high"]}}, "conditions"),
        ({"conditions": {"requester_department": ["IT"]}}, "conditions"),
        ({"is_active": False}, "is_active"),
    ],
)
def test_default_policy_cannot_get_conditions_or_be_deactivated(client, writer, change, field):
    default = default_policy_json(client, writer)
    response = client.patch(f"/api/sla/policies/{default['id']}", json=change, headers=writer)
    assert field in assert_problem(response, 409)["errors"]
    row = stored(SlaPolicy, default["id"])
    assert (row["conditions"], row["is_active"]) == ({}, True)


def test_default_policy_cannot_be_deleted(client, writer):
    default = default_policy_json(client, writer)
    assert_problem(client.delete(f"/api/sla/policies/{default['id']}", headers=writer), 409)
    assert stored(SlaPolicy, default["id"]) is not None


# --- permissions ---


def sla_requests(calendar_id: int, policy_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/api/sla/calendars", None),
        ("POST", "/api/sla/calendars", calendar_body(name="Other")),
        ("GET", f"/api/sla/calendars/{calendar_id}", None),
        ("PUT", f"/api/sla/calendars/{calendar_id}", {"name": "Renamed"}),
        ("PATCH", f"/api/sla/calendars/{calendar_id}", {"name": "Renamed"}),
        ("DELETE", f"/api/sla/calendars/{calendar_id}", None),
        ("GET", f"/api/sla/calendars/{calendar_id}/due?start=2026-03-06&minutes=5", None),
        (
            "GET",
            f"/api/sla/calendars/{calendar_id}/business-seconds?from=2026-03-06&to=2026-03-07",
            None,
        ),
        ("GET", "/api/sla/policies", None),
        ("POST", "/api/sla/policies", policy_body()),
        ("GET", f"/api/sla/policies/{policy_id}", None),
        ("PUT", f"/api/sla/policies/{policy_id}", {"name": "Renamed"}),
        ("PATCH", f"/api/sla/policies/{policy_id}", {"name": "Renamed"}),
        ("DELETE", f"/api/sla/policies/{policy_id}", None),
    ]


def test_requesters_get_404_on_everything(client, requester, auth, make_calendar, make_policy):
    calendar = make_calendar()
    policy = make_policy()
    headers = auth(requester)
    for method, url, body in sla_requests(calendar["id"], policy["id"]):
        response = client.open(url, method=method, json=body, headers=headers)
        assert_problem(response, 404)
    assert stored(SlaCalendar, calendar["id"])["name"] == calendar["name"]
    assert stored(SlaPolicy, policy["id"])["name"] == policy["name"]


def test_agents_read_but_get_403_on_writes(client, agent, auth, make_calendar, make_policy):
    calendar = make_calendar()
    policy = make_policy()
    headers = auth(agent.user)
    for method, url, body in sla_requests(calendar["id"], policy["id"]):
        response = client.open(url, method=method, json=body, headers=headers)
        if method == "GET":
            assert response.status_code == 200, (url, response.get_json())
        else:
            assert_problem(response, 403)
    assert db.session.query(SlaCalendar).count() == 1
    assert stored(SlaPolicy, policy["id"])["name"] == policy["name"]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_write(client, make_user, auth, role):
    headers = auth(make_user(role))
    calendar = client.post("/api/sla/calendars", json=calendar_body(), headers=headers)
    assert calendar.status_code == 201
    policy = client.post(
        "/api/sla/policies",
        json=policy_body(calendar_id=calendar.get_json()["id"]),
        headers=headers,
    )
    assert policy.status_code == 201
    assert (
        client.delete(f"/api/sla/policies/{policy.get_json()['id']}", headers=headers).status_code
        == 204
    )


def test_anonymous_gets_401(client):
    assert_problem(client.get("/api/sla/policies"), 401)
    assert_problem(client.get("/api/sla/calendars/1/due?start=2026-03-06&minutes=5"), 401)


# --- matching ---


def test_match_takes_the_first_active_policy_whose_conditions_all_match(make_policy):
    default = ticket_sla.default_policy()
    high = make_policy(name="High", position=10, conditions={"priority": ["high", "critical"]})
    network = make_policy(name="Network", position=5, conditions={"category": ["network"]})
    finance = make_policy(
        name="Finance",
        position=20,
        conditions={"requester_department": ["Finance"], "priority": ["low"], "category": []},
    )
    make_policy(name="Everything, inactive", position=1, is_active=False)

    def matched(priority, category, department=None) -> int:
        return ticket_sla.match(priority, category, department).id

    assert matched("high", "network") == network["id"]  # position 5 before 10
    assert matched("critical", "software") == high["id"]
    assert matched("low", "network", "Finance") == network["id"]
    assert matched("low", "software", " finance ") == finance["id"]  # any case and spaces
    assert matched("medium", "software", "Finance") == default.id  # priority does not match
    assert matched("low", "software", None) == default.id  # no department: no match
    assert matched("low", "software", "Sales") == default.id


def test_match_breaks_position_ties_by_id_and_ignores_the_default_position(
    client, writer, make_policy
):
    default = default_policy_json(client, writer)
    client.patch(f"/api/sla/policies/{default['id']}", json={"position": -100}, headers=writer)
    first = make_policy(name="First", position=7)
    make_policy(name="Second", position=7)
    assert ticket_sla.match("low", "other", None).id == first["id"]
    client.patch(f"/api/sla/policies/{first['id']}", json={"is_active": False}, headers=writer)
    assert ticket_sla.match("low", "other", None).name == "Second"


def test_match_falls_back_to_the_default_policy(make_policy):
    make_policy(name="Hardware", conditions={"category": ["hardware"]})
    policy = ticket_sla.match("medium", "software", "IT")
    assert policy.is_default
    assert sla.targets_for(policy, "medium") == Config.SLA_TARGETS["medium"]


# --- the recompute hook and the calendar of a row ---


def test_changes_that_can_move_tickets_call_rules_changed(client, writer, monkeypatch):
    calls = []
    monkeypatch.setattr(ticket_sla, "rules_changed", lambda actor: calls.append(actor.id))
    calendar = client.post("/api/sla/calendars", json=calendar_body(), headers=writer).get_json()
    assert calls == []  # no policy uses a new calendar
    client.patch(f"/api/sla/calendars/{calendar['id']}", json={"name": "B"}, headers=writer)
    policy = client.post("/api/sla/policies", json=policy_body(), headers=writer).get_json()
    client.put(f"/api/sla/policies/{policy['id']}", json={"position": 4}, headers=writer)
    assert len(calls) == 3
    assert set(calls) == {db.session.scalar(select(User.id).where(User.role == "manager"))}
    # A deleted policy replays only its own tickets; an unused calendar moves none.
    client.delete(f"/api/sla/policies/{policy['id']}", headers=writer)
    client.delete(f"/api/sla/calendars/{calendar['id']}", headers=writer)
    assert len(calls) == 3
    # Refused changes and changes to the same values do not call it.
    client.delete(f"/api/sla/policies/{ticket_sla.default_policy().id}", headers=writer)
    other = client.post("/api/sla/calendars", json=calendar_body(), headers=writer).get_json()
    same = client.put(f"/api/sla/calendars/{other['id']}", json=calendar_body(), headers=writer)
    assert same.get_json() == other
    default = default_policy_json(client, writer)
    same_targets = {"targets": default["targets"], "name": default["name"]}
    client.patch(f"/api/sla/policies/{default['id']}", json=same_targets, headers=writer)
    assert len(calls) == 3


def test_calendar_of_is_built_once_per_set_of_values(make_calendar):
    first = db.session.get(SlaCalendar, make_calendar(name="A")["id"])
    second = db.session.get(SlaCalendar, make_calendar(name="B")["id"])
    assert sla.calendar_of(first) is sla.calendar_of(second)
    assert sla.calendar_of(None) is None
    third = db.session.get(SlaCalendar, make_calendar(name="C", time_zone="America/New_York")["id"])
    assert sla.calendar_of(third).time_zone == "America/New_York"


def test_a_policy_carries_its_calendar(make_calendar, make_policy):
    calendar = make_calendar(time_zone="Asia/Tokyo")
    policy = sla_policies.get_policy(make_policy(calendar_id=calendar["id"])["id"])
    assert sla.calendar_of(policy.calendar).time_zone == "Asia/Tokyo"
    assert ticket_sla.default_policy().calendar is None
