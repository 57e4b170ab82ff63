"""Tickets on SLA policies: matching, business-time clocks, pauses, replay after a rule change,
the /sla view, reports by policy, and the SLA alerts (API.md sections 5, 8 and 10).

The calendar of most tests is Berlin's office week, Monday to Friday 09:00-17:00. In March
2026 Berlin is on UTC+1 (summer time starts on 29 March): 09:00 there is 08:00Z.
"""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.event import Event
from app.models.sla import SlaRecompute
from app.models.ticket import Ticket
from app.services import sla, ticket_sla
from app.tasks.sla import recompute_sla, scan_sla_clocks
from tests.helpers import assert_problem
from tests.test_sla_api import calendar_body, policy_body, targets
from tests.ticket_support import (
    committed_activities,
    committed_ticket,
    create_ticket,
    forget_teardown,
    get_ticket,
    patch_ticket,
    post_message,
    rollback_after_each_request,
)

MICROSECOND = timedelta(microseconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(autouse=True)
def _session_per_request(app):
    rollback = rollback_after_each_request(app)
    yield
    forget_teardown(app, rollback)


@pytest.fixture
def staff(agent, auth):
    return auth(agent.user)


@pytest.fixture
def boss(manager, auth):
    return auth(manager)


@pytest.fixture
def asker(requester, auth):
    return auth(requester)


@pytest.fixture
def office(client, boss):
    """Berlin's office week as a calendar; returns its id."""
    response = client.post("/api/sla/calendars", json=calendar_body(), headers=boss)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def make_policy(client, boss):
    def make(**overrides) -> dict:
        response = client.post("/api/sla/policies", json=policy_body(**overrides), headers=boss)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def network_policy(make_policy, office, response=60, resolution=480, **overrides) -> dict:
    return make_policy(
        conditions={"category": ["network"]},
        calendar_id=office,
        targets=targets(response, resolution),
        position=5,
        **overrides,
    )


def stored_instants(ticket_id: int) -> dict:
    row = committed_ticket(ticket_id)
    return {name: getattr(row, name) for name in sla.ClockInstants._fields}


# --- a new ticket -------------------------------------------------------------------------------


def test_a_ticket_gets_its_policy_and_business_hours_due_times(
    client, freeze_time, make_policy, office, asker, staff
):
    policy = network_policy(make_policy, office)
    freeze_time("2026-03-06T15:30:00Z")  # Friday 16:30 in Berlin, half an hour before closing
    ticket = create_ticket(client, asker, category="network", priority="high")

    assert ticket["sla_policy"] == {"id": policy["id"], "name": "Network desk"}
    # 60 min: 30 on Friday, 30 from Monday 09:00. 480 min: 30 on Friday, 450 on Monday.
    assert ticket["response_due_at"] == "2026-03-09T08:30:00Z"
    assert ticket["resolution_due_at"] == "2026-03-09T15:30:00Z"
    # At risk a microsecond after three quarters: 45 min (30 + 15), 360 min (30 + 330).
    assert stored_instants(ticket["id"]) == {
        "response_due_at": utc("2026-03-09 08:30:00"),
        "response_at_risk_at": utc("2026-03-09 08:15:00.000001"),
        "resolution_due_at": utc("2026-03-09 15:30:00"),
        "resolution_at_risk_at": utc("2026-03-09 13:30:00.000001"),
    }
    listed = client.get("/api/tickets", headers=staff).get_json()["items"]
    assert listed[0]["sla_policy"] == ticket["sla_policy"]

    other = create_ticket(client, asker, category="software")  # no condition matches: default
    default = ticket_sla.default_policy()
    assert other["sla_policy"] == {"id": default.id, "name": default.name}
    assert other["response_due_at"] == "2026-03-06T19:30:00Z"  # medium: 4 h, 24/7


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        ("2026-03-06T15:59:00Z", "on_track"),  # 29 business minutes gone (24/7: 2 h 29)
        ("2026-03-08T12:00:00Z", "on_track"),  # Sunday: still 30 minutes gone
        ("2026-03-09T08:15:00Z", "on_track"),  # exactly three quarters: not yet
        ("2026-03-09T08:15:01Z", "at_risk"),
        ("2026-03-09T08:30:00Z", "at_risk"),  # due, not past
        ("2026-03-09T08:30:01Z", "breached"),
    ],
)
def test_at_risk_and_breach_are_measured_in_business_time(
    client, freeze_time, make_policy, office, asker, staff, moment, status
):
    network_policy(make_policy, office)
    freeze_time("2026-03-06T15:30:00Z")
    ticket = create_ticket(client, asker, category="network")
    freeze_time(moment)
    assert get_ticket(client, ticket["id"], staff)["sla_status"] == status
    listed = client.get(f"/api/tickets?sla_status={status}", headers=staff).get_json()
    assert [item["id"] for item in listed["items"]] == [ticket["id"]]


# --- a change of priority or category -----------------------------------------------------------


def test_a_priority_or_category_change_matches_the_policy_again(
    client, freeze_time, make_policy, office, asker, staff, agent
):
    critical = make_policy(
        name="Critical", position=1, conditions={"priority": ["critical"]}, targets=targets(15, 120)
    )
    network = network_policy(make_policy, office)
    default = ticket_sla.default_policy()
    freeze_time("2026-03-02T09:00:00Z")  # Monday 10:00 in Berlin
    ticket = create_ticket(client, asker, category="software")
    assert ticket["sla_policy"]["id"] == default.id

    freeze_time("2026-03-02T09:05:00Z")
    body = patch_ticket(client, ticket["id"], staff, priority="critical").get_json()
    assert body["sla_policy"] == {"id": critical["id"], "name": "Critical"}
    assert body["response_due_at"] == "2026-03-02T09:15:00Z"  # from created_at, 24/7
    assert body["resolution_due_at"] == "2026-03-02T11:00:00Z"

    body = patch_ticket(client, ticket["id"], staff, priority="low", category="network").get_json()
    assert body["sla_policy"]["id"] == network["id"]
    assert body["response_due_at"] == "2026-03-02T10:00:00Z"  # 60 business minutes
    assert committed_activities(ticket["id"])[-4:] == [
        ("sla_policy_changed", "sla_policy_id", str(default.id), str(critical["id"])),
        ("priority_changed", "priority", "critical", "low"),
        ("category_changed", "category", "software", "network"),
        ("sla_policy_changed", "sla_policy_id", str(critical["id"]), str(network["id"])),
    ]
    # A change that keeps the policy records no policy change.
    patch_ticket(client, ticket["id"], staff, priority="medium")
    assert committed_activities(ticket["id"])[-1][0] == "priority_changed"


# --- pauses --------------------------------------------------------------------------------------


def pause_and_resume(client, freeze_time, ticket_id, headers, pending_at, back_at) -> None:
    freeze_time(pending_at)
    assert patch_ticket(client, ticket_id, headers, status="pending").status_code == 200
    freeze_time(back_at)
    assert patch_ticket(client, ticket_id, headers, status="in_progress").status_code == 200


def test_a_pause_counts_business_time_only(client, freeze_time, make_policy, office, asker, staff):
    network_policy(make_policy, office, resolution=960)
    freeze_time("2026-03-05T09:00:00Z")  # Thursday 10:00
    ticket = create_ticket(client, asker, category="network")
    freeze_time("2026-03-05T09:10:00Z")
    post_message(client, ticket["id"], staff)  # the first response
    patch_ticket(client, ticket["id"], staff, status="in_progress")
    # Pending from Friday 16:00 to Monday 10:00: an hour on Friday, an hour on Monday.
    freeze_time("2026-03-06T15:00:00Z")
    patch_ticket(client, ticket["id"], staff, status="pending")

    freeze_time("2026-03-09T08:00:00Z")  # Monday 09:00, still pending
    view = client.get(f"/api/tickets/{ticket['id']}/sla", headers=staff).get_json()
    # 840 business minutes had gone when the clock stopped (Thursday 420, Friday 420).
    assert view["resolution"]["business_seconds_elapsed"] == 840 * 60
    assert view["resolution"]["business_seconds_remaining"] == 120 * 60
    assert view["pauses"] == [
        {"started_at": "2026-03-06T15:00:00Z", "ended_at": None, "business_seconds": 3600}
    ]

    freeze_time("2026-03-09T09:00:00Z")
    body = patch_ticket(client, ticket["id"], staff, status="in_progress").get_json()
    assert body["sla_paused_seconds"] == 7200
    # 960 + 120 minutes: Thursday 420, Friday 480, Monday 180 → Monday 12:00 (11:00Z).
    assert body["resolution_due_at"] == "2026-03-09T11:00:00Z"
    view = client.get(f"/api/tickets/{ticket['id']}/sla", headers=staff).get_json()
    assert view["policy"]["name"] == "Network desk"
    assert view["calendar"] == {"id": office, "name": "Berlin office", "time_zone": "Europe/Berlin"}
    assert view["pauses"] == [
        {
            "started_at": "2026-03-06T15:00:00Z",
            "ended_at": "2026-03-09T09:00:00Z",
            "business_seconds": 7200,
        }
    ]
    assert view["response"] == {
        "target_minutes": 60,
        "due_at": "2026-03-05T10:00:00Z",
        "completed_at": "2026-03-05T09:10:00Z",
        "breached": False,
        "business_seconds_elapsed": 600,
        "business_seconds_remaining": 3000,
    }
    assert view["resolution"] == {
        "target_minutes": 960,
        "due_at": "2026-03-09T11:00:00Z",
        "completed_at": None,
        "breached": False,
        "business_seconds_elapsed": 840 * 60,
        "business_seconds_remaining": 120 * 60,
    }


def test_the_sla_view_shows_a_breach_as_negative_time_left(client, freeze_time, asker, staff):
    freeze_time("2026-03-02T09:00:00Z")
    ticket = create_ticket(client, asker, priority="critical")  # 15 min / 4 h, 24/7
    freeze_time("2026-03-02T09:20:00Z")
    view = client.get(f"/api/tickets/{ticket['id']}/sla", headers=staff).get_json()
    assert view["calendar"] is None
    assert view["response"]["breached"] is True
    assert view["response"]["business_seconds_remaining"] == -300
    assert view["resolution"]["business_seconds_remaining"] == 4 * 3600 - 1200


def test_requesters_get_404_for_the_sla_view(client, asker, staff):
    ticket = create_ticket(client, asker)
    assert_problem(client.get(f"/api/tickets/{ticket['id']}/sla", headers=asker), 404)
    assert_problem(client.get("/api/tickets/999999/sla", headers=staff), 404)
    assert_problem(client.get(f"/api/tickets/{ticket['id']}/sla"), 401)


# --- replay after a rule change ------------------------------------------------------------------


def live_story(client, freeze_time, asker, staff) -> int:
    """A network ticket's first days: answered, paused and resumed, then paused again."""
    freeze_time("2026-03-05T09:00:00Z")  # Thursday 10:00
    ticket = create_ticket(client, asker, category="network", priority="high")
    freeze_time("2026-03-05T09:10:00Z")
    post_message(client, ticket["id"], staff)
    patch_ticket(client, ticket["id"], staff, status="in_progress")
    pause_and_resume(
        client, freeze_time, ticket["id"], staff, "2026-03-05T15:00:00Z", "2026-03-06T09:00:00Z"
    )
    freeze_time("2026-03-06T14:00:00Z")
    patch_ticket(client, ticket["id"], staff, status="pending")
    return ticket["id"]


def test_a_rule_change_replays_open_tickets_as_if_the_rules_had_always_applied(
    client, freeze_time, make_policy, office, asker, staff, boss, manager
):
    old = network_policy(make_policy, office, resolution=960)
    replayed = live_story(client, freeze_time, asker, staff)

    freeze_time("2026-03-06T15:00:00Z")
    longer_days = calendar_body(
        name="Long days",
        working_hours={day: [{"start": "08:00", "end": "18:00"}] for day in ("mon", "tue")}
        | {day: [{"start": "07:30", "end": "12:00"}] for day in ("wed", "thu", "fri")},
    )
    calendar = client.post("/api/sla/calendars", json=longer_days, headers=boss).get_json()
    new = make_policy(
        name="Network, long days",
        position=1,
        conditions={"category": ["network"]},
        calendar_id=calendar["id"],
        targets=targets(45, 700),
    )
    after_change = stored_instants(replayed)
    assert committed_ticket(replayed).sla_policy_id == new["id"]
    assert committed_activities(replayed)[-1] == (
        "sla_policy_changed",
        "sla_policy_id",
        str(old["id"]),
        str(new["id"]),
    )

    # The same story on a ticket that had the new rules from the start.
    fresh = live_story(client, freeze_time, asker, staff)
    freeze_time("2026-03-06T15:00:00Z")
    assert stored_instants(fresh) == after_change
    for name in ("sla_policy_id", "sla_paused_seconds", "sla_paused_at"):
        assert getattr(committed_ticket(fresh), name) == getattr(committed_ticket(replayed), name)
    # The closed pause: Thursday 16:00-18:00 was not worked on Thursdays; 07:30-10:00 Friday is.
    assert committed_ticket(replayed).sla_paused_seconds == 9000


def test_resolved_tickets_keep_their_due_times_when_the_rules_change(
    client, freeze_time, make_policy, office, asker, staff, boss
):
    policy = network_policy(make_policy, office)
    freeze_time("2026-03-02T09:00:00Z")
    done = create_ticket(client, asker, category="network")
    patch_ticket(client, done["id"], staff, status="resolved")
    before = stored_instants(done["id"])
    changed = {"targets": targets(5, 10)}
    client.patch(f"/api/sla/policies/{policy['id']}", json=changed, headers=boss)
    assert stored_instants(done["id"]) == before


def test_deleting_a_policy_moves_its_tickets_to_the_policy_they_match_now(
    client, freeze_time, make_policy, office, asker, staff, boss, manager
):
    policy = network_policy(make_policy, office)
    default = ticket_sla.default_policy()
    freeze_time("2026-03-02T09:00:00Z")
    open_ticket = create_ticket(client, asker, category="network")
    done = create_ticket(client, asker, category="network")
    patch_ticket(client, done["id"], staff, status="resolved")
    done_instants = stored_instants(done["id"])

    response = client.delete(f"/api/sla/policies/{policy['id']}", headers=boss)
    assert response.status_code == 204
    moved = get_ticket(client, open_ticket["id"], staff)
    assert moved["sla_policy"]["id"] == default.id
    assert moved["response_due_at"] == "2026-03-02T13:00:00Z"  # medium, 4 h, 24/7
    expected = ("sla_policy_changed", "sla_policy_id", str(policy["id"]), str(default.id))
    assert committed_activities(open_ticket["id"])[-1] == expected
    assert committed_ticket(done["id"]).sla_policy_id == default.id
    assert stored_instants(done["id"]) == done_instants
    assert committed_activities(done["id"])[-1] == expected


def test_many_open_tickets_are_replayed_by_the_worker(
    app, client, freeze_time, make_policy, office, asker, monkeypatch
):
    monkeypatch.setitem(app.config, "SLA_RECOMPUTE_INLINE_MAX", 1)
    freeze_time("2026-03-02T09:00:00Z")
    ids = [create_ticket(client, asker, category="network")["id"] for _ in range(3)]
    policy = network_policy(make_policy, office)  # more open tickets than replayed inline

    assert {committed_ticket(ticket_id).sla_policy_id for ticket_id in ids} != {policy["id"]}
    (request,) = db.session.scalars(select(SlaRecompute)).all()
    assert request.done_at is None
    freeze_time("2026-03-02T09:00:31Z")
    assert ticket_sla.recompute_waiting()  # no worker took it: the scan queues it again

    recompute_sla.call_local()
    assert {committed_ticket(ticket_id).sla_policy_id for ticket_id in ids} == {policy["id"]}
    assert committed_ticket(ids[0]).response_due_at == utc("2026-03-02 10:00:00")
    db.session.expire_all()
    assert db.session.get(SlaRecompute, request.id).done_at is not None
    assert not ticket_sla.recompute_waiting()


# --- reports -------------------------------------------------------------------------------------


def test_sla_adherence_groups_by_policy(client, freeze_time, make_policy, office, asker, boss):
    policy = network_policy(make_policy, office)
    default = ticket_sla.default_policy()
    freeze_time("2026-03-02T09:00:00Z")
    create_ticket(client, asker, category="network")
    create_ticket(client, asker, category="network")
    create_ticket(client, asker, category="software")
    freeze_time("2026-03-03T09:00:00Z")
    report = client.get(
        "/api/tickets/analytics/sla-adherence?group_by=policy&from=2026-03-01&to=2026-03-04",
        headers=boss,
    ).get_json()
    assert report["group_by"] == "policy"
    assert [(group["key"], group["tickets"]) for group in report["groups"]] == [
        (default.id, 1),
        (policy["id"], 2),
    ]
    # Both network tickets are past their 60 business minutes, the other past its 4 hours.
    assert [group["response_breached"] for group in report["groups"]] == [1, 2]


# --- SLA alerts ----------------------------------------------------------------------------------


def alert_events(ticket_id: int) -> list[tuple]:
    rows = db.session.execute(
        select(Event.type, Event.payload, Event.public_payload)
        .where(Event.ticket_id == ticket_id, Event.type.like("ticket.sla_%"))
        .order_by(Event.id)
    ).all()
    db.session.rollback()
    return [(kind, payload["clock"], payload["due_at"], public) for kind, payload, public in rows]


def test_the_scan_warns_then_reports_the_breach_once_per_clock(
    client, freeze_time, make_policy, asker
):
    make_policy(conditions={"category": ["network"]}, targets=targets(4, 8))  # 24/7
    freeze_time("2026-03-02T09:00:00Z")
    ticket = create_ticket(client, asker, category="network")
    steps = [
        ("2026-03-02T09:02:59Z", 0),
        ("2026-03-02T09:03:01Z", 1),  # response at risk
        ("2026-03-02T09:03:30Z", 0),
        ("2026-03-02T09:04:01Z", 1),  # response breached
        ("2026-03-02T09:09:00Z", 1),  # resolution breached, its warning skipped
        ("2026-03-02T10:00:00Z", 0),
    ]
    for moment, emitted in steps:
        freeze_time(moment)
        assert scan_sla_clocks.call_local() == emitted, moment
    assert alert_events(ticket["id"]) == [
        ("ticket.sla_warning", "response", "2026-03-02T09:04:00Z", None),
        ("ticket.sla_breached", "response", "2026-03-02T09:04:00Z", None),
        ("ticket.sla_breached", "resolution", "2026-03-02T09:08:00Z", None),
    ]
    assert committed_activities(ticket["id"])[1:] == [
        ("sla_warning", "response", None, "2026-03-02T09:04:00Z"),
        ("sla_breached", "response", None, "2026-03-02T09:04:00Z"),
        ("sla_breached", "resolution", None, "2026-03-02T09:08:00Z"),
    ]
    assert committed_ticket(ticket["id"]).sla_next_alert_at is None


def test_the_scan_skips_clocks_met_in_time_and_stopped_clocks(
    client, freeze_time, make_policy, asker, staff
):
    make_policy(conditions={"category": ["network"]}, targets=targets(4, 8))
    freeze_time("2026-03-02T09:00:00Z")
    answered = create_ticket(client, asker, category="network")
    resolved = create_ticket(client, asker, category="network")
    paused = create_ticket(client, asker, category="network")
    freeze_time("2026-03-02T09:01:00Z")
    post_message(client, answered["id"], staff)
    post_message(client, paused["id"], staff)
    patch_ticket(client, paused["id"], staff, status="in_progress")
    patch_ticket(client, paused["id"], staff, status="pending")
    patch_ticket(client, resolved["id"], staff, status="resolved")
    assert committed_ticket(resolved["id"]).sla_next_alert_at is None
    assert committed_ticket(paused["id"]).sla_next_alert_at is None

    freeze_time("2026-03-02T09:07:00Z")
    scan_sla_clocks.call_local()
    assert alert_events(resolved["id"]) == alert_events(paused["id"]) == []
    assert alert_events(answered["id"]) == [
        ("ticket.sla_warning", "resolution", "2026-03-02T09:08:00Z", None)
    ]


def test_alert_events_carry_the_ticket_as_staff_see_it(client, freeze_time, make_policy, asker):
    make_policy(conditions={"category": ["network"]}, targets=targets(4, 8))
    freeze_time("2026-03-02T09:00:00Z")
    ticket = create_ticket(client, asker, category="network")
    freeze_time("2026-03-02T09:05:00Z")
    scan_sla_clocks.call_local()
    payload = db.session.scalars(
        select(Event.payload).where(Event.type == "ticket.sla_breached")
    ).one()
    assert payload["ticket"]["id"] == ticket["id"]
    assert payload["ticket"]["sla_status"] == "breached"
    assert set(payload) == {"ticket", "clock", "due_at"}


def test_stored_instants_match_the_clock_for_every_ticket_the_api_made(
    client, freeze_time, make_policy, office, asker, staff
):
    network_policy(make_policy, office)
    freeze_time("2026-03-06T15:30:00Z")
    ticket = create_ticket(client, asker, category="network")
    row = db.session.get(Ticket, ticket["id"])
    expected = sla.clock_instants(
        sla.calendar_of(row.sla_policy.calendar), row.created_at, 60, 480, 0
    )
    assert stored_instants(ticket["id"]) == expected._asdict()
    db.session.rollback()


# --- migration 0007 -----------------------------------------------------------------------------


def test_migration_0007_gives_existing_tickets_the_instants_the_clock_computes():
    migration = importlib.import_module("migrations.versions.0007_ticket_sla_instants")
    created = utc("2026-03-02 09:00:00")
    now = utc("2026-03-02 12:30:00")
    # A 24/7 ticket from before: 60 / 480 minutes, an hour paused, pending since 12:00.
    row = SimpleNamespace(
        id=7,
        status="pending",
        created_at=created,
        first_response_at=utc("2026-03-02 09:20:00"),
        response_due_at=created + timedelta(minutes=60),
        resolution_due_at=created + timedelta(minutes=480 + 60),
        sla_paused_seconds=3600,
        sla_paused_at=utc("2026-03-02 12:00:00"),
    )
    values = migration._instants(row, now)
    expected = sla.clock_instants(None, created, 60, 480, 3600)
    assert values["response_at_risk_at"] == expected.response_at_risk_at
    assert values["resolution_at_risk_at"] == expected.resolution_at_risk_at
    assert (values["sla_response_alert"], values["sla_resolution_alert"]) == (None, None)
    assert values["sla_next_alert_at"] == now  # the first scan works out the next one
    # An unanswered open ticket past its response due time counts as alerted already.
    late = SimpleNamespace(**{**vars(row), "status": "open", "first_response_at": None})
    late_values = migration._instants(late, now)
    assert late_values["sla_response_alert"] == "breached"
    assert late_values["sla_resolution_alert"] is None
    done = migration._instants(SimpleNamespace(**{**vars(row), "status": "closed"}), now)
    assert done["sla_next_alert_at"] is None
