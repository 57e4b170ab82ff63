"""The ticket workflow (transitions and their timestamps) and the SLA clock, through HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import assert_problem
from tests.ticket_support import (
    committed_activities,
    committed_ticket,
    create_ticket,
    forget_teardown,
    patch_ticket,
    rollback_after_each_request,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = ("open", "in_progress", "pending", "resolved", "closed")
ALLOWED = {
    ("open", "in_progress"),
    ("open", "resolved"),
    ("in_progress", "open"),
    ("in_progress", "pending"),
    ("in_progress", "resolved"),
    ("pending", "in_progress"),
    ("pending", "resolved"),
    ("resolved", "open"),
    ("resolved", "closed"),
}
MANAGERS_ALSO = {("closed", "open")}
# How an admin walks a new ticket to each status along allowed transitions.
PATH_TO = {
    "open": [],
    "in_progress": ["in_progress"],
    "pending": ["in_progress", "pending"],
    "resolved": ["resolved"],
    "closed": ["resolved", "closed"],
}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def after(**delta) -> datetime:
    return T0 + timedelta(**delta)


@pytest.fixture(autouse=True)
def _session_per_request(app):
    rollback = rollback_after_each_request(app)
    yield
    forget_teardown(app, rollback)


class Desk:
    """A requester and an agent working tickets at chosen (frozen) moments."""

    def __init__(self, client, freeze, agent_headers, requester_headers):
        self.client = client
        self.freeze = freeze
        self.agent = agent_headers
        self.requester = requester_headers

    def open(self, at: datetime, **fields) -> int:
        self.freeze(at)
        return create_ticket(self.client, self.requester, **fields)["id"]

    def say(self, ticket_id: int, at: datetime, *, by=None, internal: bool = False):
        self.freeze(at)
        body = {"ticket_id": ticket_id, "body": "Noted.", "is_internal": internal}
        response = self.client.post("/api/messages", json=body, headers=by or self.agent)
        assert response.status_code == 201, response.get_json()

    def move(self, ticket_id: int, at: datetime, *statuses: str, by=None) -> dict:
        self.freeze(at)
        body = None
        for status in statuses:
            response = patch_ticket(self.client, ticket_id, by or self.agent, status=status)
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
        return body

    def change(self, ticket_id: int, at: datetime, **fields) -> dict:
        self.freeze(at)
        response = patch_ticket(self.client, ticket_id, self.agent, **fields)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def read(self, ticket_id: int, at: datetime | None = None) -> dict:
        if at is not None:
            self.freeze(at)
        response = self.client.get(f"/api/tickets/{ticket_id}", headers=self.agent)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def titles(self, query: str) -> set[str]:
        response = self.client.get(f"/api/tickets?per_page=100&{query}", headers=self.agent)
        assert response.status_code == 200, response.get_json()
        return {item["title"] for item in response.get_json()["items"]}


@pytest.fixture
def desk(client, freeze_time, agent, requester, auth) -> Desk:
    return Desk(client, freeze_time, auth(agent.user), auth(requester))


# --- transitions ---------------------------------------------------------------------------------


def ticket_in(client, headers, status: str) -> int:
    ticket_id = create_ticket(client, headers)["id"]
    for step in PATH_TO[status]:
        assert patch_ticket(client, ticket_id, headers, status=step).status_code == 200
    return ticket_id


TRANSITIONS = [(old, new) for old in STATUSES for new in STATUSES if old != new]


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
@pytest.mark.parametrize("old, new", TRANSITIONS)
def test_status_transitions_follow_the_workflow(
    client, admin, manager, agent, auth, role, old, new
):
    caller = {"agent": agent.user, "manager": manager, "admin": admin}[role]
    ticket_id = ticket_in(client, auth(admin), old)
    activities_before = committed_activities(ticket_id)
    allowed = (old, new) in ALLOWED or (role != "agent" and (old, new) in MANAGERS_ALSO)

    response = patch_ticket(client, ticket_id, auth(caller), status=new)

    if allowed:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == new
        assert committed_ticket(ticket_id).status == new
        action = "reopened" if new == "open" and old in ("resolved", "closed") else "status_changed"
        assert committed_activities(ticket_id)[-1] == (action, "status", old, new)
    else:
        body = assert_problem(response, 409)
        assert "status" in body["errors"]
        assert committed_ticket(ticket_id).status == old
        assert committed_activities(ticket_id) == activities_before


@pytest.mark.parametrize("status", STATUSES)
def test_setting_the_current_status_is_a_no_op(client, admin, auth, status):
    ticket_id = ticket_in(client, auth(admin), status)
    before = committed_activities(ticket_id)

    response = patch_ticket(client, ticket_id, auth(admin), status=status)

    assert response.status_code == 200, response.get_json()
    assert committed_activities(ticket_id) == before


def test_a_refused_transition_changes_no_other_field_of_the_same_request(client, admin, auth):
    ticket_id = ticket_in(client, auth(admin), "open")

    response = patch_ticket(client, ticket_id, auth(admin), title="Changed", status="closed")

    assert_problem(response, 409)
    assert committed_ticket(ticket_id).title != "Changed"
    assert [action for action, *_ in committed_activities(ticket_id)] == ["created"]


# --- status timestamps ---------------------------------------------------------------------------


def test_resolving_sets_resolved_at(desk):
    ticket_id = desk.open(T0)

    body = desk.move(ticket_id, after(hours=2), "resolved")

    assert body["resolved_at"] == iso(after(hours=2))
    assert body["closed_at"] is None
    assert committed_ticket(ticket_id).resolved_at == after(hours=2)


def test_reopening_a_resolved_ticket_clears_resolved_at(desk):
    ticket_id = desk.open(T0)
    desk.move(ticket_id, after(hours=1), "resolved")

    body = desk.move(ticket_id, after(hours=2), "open")

    assert body["resolved_at"] is None
    assert committed_ticket(ticket_id).resolved_at is None


def test_closing_sets_closed_at_and_keeps_the_resolution_time(desk):
    ticket_id = desk.open(T0)
    desk.move(ticket_id, after(hours=1), "resolved")

    body = desk.move(ticket_id, after(hours=3), "closed")

    assert (body["resolved_at"], body["closed_at"]) == (iso(after(hours=1)), iso(after(hours=3)))
    row = committed_ticket(ticket_id)
    assert (row.resolved_at, row.closed_at) == (after(hours=1), after(hours=3))


def test_withdrawing_an_unresolved_ticket_sets_resolved_at_and_closed_at(desk):
    ticket_id = desk.open(T0)

    body = desk.move(ticket_id, after(hours=1), "closed", by=desk.requester)

    assert (body["resolved_at"], body["closed_at"]) == (iso(after(hours=1)), iso(after(hours=1)))


def test_manager_reopening_a_closed_ticket_clears_resolved_at_and_closed_at(desk, manager, auth):
    ticket_id = desk.open(T0)
    desk.move(ticket_id, after(hours=1), "resolved", "closed")

    body = desk.move(ticket_id, after(hours=2), "open", by=auth(manager))

    assert (body["status"], body["resolved_at"], body["closed_at"]) == ("open", None, None)
    row = committed_ticket(ticket_id)
    assert (row.resolved_at, row.closed_at) == (None, None)


def test_requester_message_on_a_resolved_ticket_reopens_it(desk):
    ticket_id = desk.open(T0)
    desk.move(ticket_id, after(hours=1), "resolved")

    desk.say(ticket_id, after(hours=2), by=desk.requester)

    body = desk.read(ticket_id)
    assert (body["status"], body["resolved_at"]) == ("open", None)
    assert committed_activities(ticket_id)[-1] == ("reopened", "status", "resolved", "open")


def test_staff_creating_a_resolved_ticket_sets_resolved_at(client, agent, auth, freeze_time):
    freeze_time(T0)

    body = create_ticket(client, auth(agent.user), status="resolved")

    assert (body["status"], body["resolved_at"]) == ("resolved", iso(T0))


# --- due times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "priority, response, resolution",
    [
        ("critical", timedelta(minutes=15), timedelta(hours=4)),
        ("high", timedelta(hours=1), timedelta(hours=8)),
        ("medium", timedelta(hours=4), timedelta(hours=24)),
        ("low", timedelta(hours=8), timedelta(hours=72)),
    ],
)
def test_due_times_follow_the_priority_targets(desk, priority, response, resolution):
    ticket_id = desk.open(T0, priority=priority)

    body = desk.read(ticket_id)

    assert body["created_at"] == iso(T0)
    assert (body["response_due_at"], body["resolution_due_at"]) == (
        iso(T0 + response),
        iso(T0 + resolution),
    )
    row = committed_ticket(ticket_id)
    assert (row.response_due_at, row.resolution_due_at) == (T0 + response, T0 + resolution)


def test_default_priority_gets_medium_due_times(desk):
    body = desk.read(desk.open(T0))

    assert (body["response_due_at"], body["resolution_due_at"]) == (
        iso(after(hours=4)),
        iso(after(hours=24)),
    )


def test_priority_change_recomputes_due_times_from_created_at(desk):
    ticket_id = desk.open(T0, priority="low")

    body = desk.change(ticket_id, after(hours=2), priority="critical")

    assert (body["response_due_at"], body["resolution_due_at"]) == (
        iso(after(minutes=15)),
        iso(after(hours=4)),
    )
    row = committed_ticket(ticket_id)
    assert (row.response_due_at, row.resolution_due_at) == (after(minutes=15), after(hours=4))


def test_priority_change_keeps_time_already_paused(desk):
    ticket_id = desk.open(T0, priority="medium")
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")
    desk.move(ticket_id, after(hours=3), "in_progress")

    body = desk.change(ticket_id, after(hours=4), priority="high")

    assert body["sla_paused_seconds"] == 7200
    assert body["resolution_due_at"] == iso(after(hours=8 + 2))
    assert body["response_due_at"] == iso(after(hours=1))


def test_priority_change_while_pending_still_counts_the_running_pause(desk):
    ticket_id = desk.open(T0, priority="medium")
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")
    desk.change(ticket_id, after(hours=2), priority="high")

    body = desk.move(ticket_id, after(hours=3), "in_progress")

    assert body["sla_paused_seconds"] == 7200
    assert body["resolution_due_at"] == iso(after(hours=8 + 2))


# --- first response ------------------------------------------------------------------------------


def test_first_public_staff_message_sets_first_response_at(desk):
    ticket_id = desk.open(T0)

    desk.say(ticket_id, after(minutes=30))

    assert desk.read(ticket_id)["first_response_at"] == iso(after(minutes=30))
    assert committed_ticket(ticket_id).first_response_at == after(minutes=30)


def test_internal_note_is_not_a_first_response(desk):
    ticket_id = desk.open(T0)

    desk.say(ticket_id, after(minutes=30), internal=True)

    assert desk.read(ticket_id)["first_response_at"] is None
    assert committed_ticket(ticket_id).first_response_at is None


def test_requester_message_is_not_a_first_response(desk):
    ticket_id = desk.open(T0)

    desk.say(ticket_id, after(minutes=30), by=desk.requester)

    assert committed_ticket(ticket_id).first_response_at is None


def test_staff_message_on_their_own_ticket_is_not_a_first_response(client, agent, auth, desk):
    desk.freeze(T0)
    ticket_id = create_ticket(client, auth(agent.user))["id"]

    desk.say(ticket_id, after(minutes=30), by=auth(agent.user))

    assert committed_ticket(ticket_id).first_response_at is None


def test_first_response_is_set_only_once(desk, manager, auth):
    ticket_id = desk.open(T0)
    desk.say(ticket_id, after(minutes=10), internal=True)
    desk.say(ticket_id, after(minutes=20))

    desk.say(ticket_id, after(minutes=40), by=auth(manager))

    assert desk.read(ticket_id)["first_response_at"] == iso(after(minutes=20))


def test_first_response_records_no_activity(desk):
    ticket_id = desk.open(T0)

    desk.say(ticket_id, after(minutes=10))

    assert [action for action, *_ in committed_activities(ticket_id)] == ["created"]


# --- response breach -----------------------------------------------------------------------------


def test_unanswered_ticket_breaches_response_only_after_the_due_time(desk):
    ticket_id = desk.open(T0, priority="high")  # response due at T0 + 1 h

    at_due = desk.read(ticket_id, at=after(hours=1))
    past_due = desk.read(ticket_id, at=after(hours=1, seconds=1))

    assert (at_due["response_breached"], at_due["sla_status"]) == (False, "at_risk")
    assert (past_due["response_breached"], past_due["sla_status"]) == (True, "breached")
    assert desk.titles("breached=true") == {desk.read(ticket_id)["title"]}


def test_late_first_response_stays_breached(desk):
    ticket_id = desk.open(T0, priority="high")
    desk.say(ticket_id, after(hours=2))

    body = desk.read(ticket_id, at=after(hours=3))

    assert (body["response_breached"], body["resolution_breached"]) == (True, False)
    assert body["sla_status"] == "breached"
    assert desk.titles("breached=true") == {body["title"]}
    assert desk.titles("sla_status=breached") == {body["title"]}


def test_first_response_before_due_is_never_a_breach(desk):
    ticket_id = desk.open(T0, priority="critical")
    desk.say(ticket_id, after(minutes=15))  # exactly at the due time

    body = desk.read(ticket_id, at=after(hours=1))

    assert body["response_breached"] is False
    assert desk.titles("breached=false") == {body["title"]}


# --- pause while pending -------------------------------------------------------------------------


def test_two_hours_pending_moves_resolution_due_two_hours_later(desk):
    ticket_id = desk.open(T0, priority="medium")
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")

    body = desk.move(ticket_id, after(hours=3), "in_progress")

    assert body["sla_paused_seconds"] == 7200
    assert body["resolution_due_at"] == iso(after(hours=26))
    assert body["response_due_at"] == iso(after(hours=4))
    row = committed_ticket(ticket_id)
    assert (row.sla_paused_seconds, row.resolution_due_at) == (7200, after(hours=26))


@pytest.mark.parametrize("leave_to", ["in_progress", "resolved"])
def test_leaving_pending_to_any_status_ends_the_pause(desk, leave_to):
    ticket_id = desk.open(T0, priority="medium")
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")

    body = desk.move(ticket_id, after(hours=3), leave_to)

    assert body["sla_paused_seconds"] == 7200
    assert body["resolution_due_at"] == iso(after(hours=26))


def test_requester_withdrawing_a_pending_ticket_ends_the_pause(desk):
    ticket_id = desk.open(T0, priority="medium")
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")

    body = desk.move(ticket_id, after(hours=2), "closed", by=desk.requester)

    assert body["sla_paused_seconds"] == 3600
    assert body["resolution_due_at"] == iso(after(hours=25))


def test_pauses_add_up(desk):
    ticket_id = desk.open(T0, priority="medium")
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")
    desk.move(ticket_id, after(hours=2), "in_progress")
    desk.move(ticket_id, after(hours=5), "pending")

    body = desk.move(ticket_id, after(hours=7, minutes=30), "in_progress")

    assert body["sla_paused_seconds"] == 3600 + 9000
    assert body["resolution_due_at"] == iso(after(hours=24, seconds=3600 + 9000))


def test_while_pending_the_resolution_clock_stands_still(desk):
    ticket_id = desk.open(T0, priority="critical")  # resolution due at T0 + 4 h
    desk.say(ticket_id, after(minutes=5))
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")

    waiting = desk.read(ticket_id, at=after(hours=30))

    assert waiting["resolution_breached"] is False
    assert waiting["sla_status"] == "on_track"  # 3 of 4 hours were left when the clock stopped
    assert desk.titles("breached=false") == {waiting["title"]}
    assert desk.titles("sla_status=on_track") == {waiting["title"]}
    assert desk.titles("breached=true") == set()


def test_after_a_pause_the_resolution_clock_runs_from_where_it_stopped(desk):
    ticket_id = desk.open(T0, priority="critical")
    desk.say(ticket_id, after(minutes=5))
    desk.move(ticket_id, after(hours=1), "in_progress", "pending")
    desk.move(ticket_id, after(hours=10), "in_progress")  # due now T0 + 13 h

    almost = desk.read(ticket_id, at=after(hours=12, minutes=59))
    late = desk.read(ticket_id, at=after(hours=13, seconds=1))

    assert almost["resolution_due_at"] == iso(after(hours=13))
    assert (almost["resolution_breached"], almost["sla_status"]) == (False, "at_risk")
    assert (late["resolution_breached"], late["sla_status"]) == (True, "breached")


# --- sla_status, in the body and through the SQL filters -----------------------------------------

NOW = after(hours=10)


@pytest.fixture
def sla_board(desk) -> dict[str, str]:
    """Tickets in every SLA state at NOW; returns title -> the sla_status expected at NOW."""
    expected = {}

    def ticket(title, created, status, priority="medium", **fields):
        expected[title] = status
        return desk.open(created, title=title, priority=priority, **fields)

    # Unanswered past the response due time.
    ticket("unanswered late", NOW - timedelta(hours=9), "breached", "low")
    # Answered late, then resolved in time: the late answer still counts.
    late = ticket("answered late", T0, "breached", "high")
    desk.say(late, after(hours=2))
    desk.move(late, after(hours=3), "resolved")
    # Answered and resolved in time; and one closed too.
    met = ticket("met", T0, "met")
    desk.say(met, after(hours=1))
    desk.move(met, after(hours=2), "resolved")
    closed = ticket("closed in time", T0, "met", "high")
    desk.say(closed, after(minutes=30))
    desk.move(closed, after(hours=2), "resolved", "closed")
    # Resolved after the resolution due time.
    slow = ticket("resolved late", T0, "breached", "critical")
    desk.say(slow, after(minutes=5))
    desk.move(slow, after(hours=5), "resolved")
    # Resolved without any answer, the response due time now past.
    silent = ticket("resolved unanswered", T0, "breached", "critical")
    desk.move(silent, after(minutes=10), "resolved")
    # Still open, past the resolution due time.
    overdue = ticket("open overdue", NOW - timedelta(hours=5), "breached", "critical")
    desk.say(overdue, NOW - timedelta(hours=5) + timedelta(minutes=5))
    # Response clock with 30 of 240 minutes left; and with 3 of 4 hours left.
    ticket("response at risk", NOW - timedelta(hours=3, minutes=30), "at_risk")
    ticket("response on track", NOW - timedelta(hours=1), "on_track")
    # Resolution clock with 1 of 8 hours left; and with 3 of 4 hours left.
    risky = ticket("resolution at risk", NOW - timedelta(hours=7), "at_risk", "high")
    desk.say(risky, NOW - timedelta(hours=6, minutes=50))
    fine = ticket("resolution on track", NOW - timedelta(hours=1), "on_track", "critical")
    desk.say(fine, NOW - timedelta(minutes=50))
    # Pending since long before its due time passed: the clock stopped with 3 of 4 hours left.
    paused = ticket("pending", T0, "on_track", "critical")
    desk.say(paused, after(minutes=5))
    desk.move(paused, after(hours=1), "in_progress", "pending")
    # Pending with 30 of 240 minutes of resolution left when it stopped.
    paused_risky = ticket("pending at risk", T0, "at_risk", "critical")
    desk.say(paused_risky, after(minutes=5))
    desk.move(paused_risky, after(hours=3, minutes=30), "in_progress", "pending")
    # Left pending: 2 h paused, so due at T0 + 26 h, 16 of 26 hours left.
    resumed = ticket("resumed", T0, "on_track")
    desk.say(resumed, after(minutes=30))
    desk.move(resumed, after(hours=1), "in_progress", "pending")
    desk.move(resumed, after(hours=3), "in_progress")
    desk.freeze(NOW)
    return expected


def test_sla_status_in_the_body_at_a_frozen_time(desk, sla_board):
    actual = {}
    response = desk.client.get("/api/tickets?per_page=100", headers=desk.agent)
    for item in response.get_json()["items"]:
        actual[item["title"]] = item["sla_status"]
        assert item == desk.read(item["id"]), "list items and single reads agree"

    assert actual == sla_board


@pytest.mark.parametrize("sla_status", ["breached", "met", "at_risk", "on_track"])
def test_sla_status_filter_selects_the_same_tickets_as_the_body(desk, sla_board, sla_status):
    expected = {title for title, status in sla_board.items() if status == sla_status}

    assert desk.titles(f"sla_status={sla_status}") == expected


def test_sla_status_filter_takes_several_values(desk, sla_board):
    expected = {title for title, status in sla_board.items() if status in ("at_risk", "breached")}

    assert desk.titles("sla_status=at_risk,breached") == expected
    assert desk.titles("sla_status=at_risk&sla_status=breached") == expected


@pytest.mark.parametrize("value", ["true", "false"])
def test_breached_filter_matches_the_breach_flags_in_the_body(desk, sla_board, value):
    response = desk.client.get("/api/tickets?per_page=100", headers=desk.agent)
    flagged = {
        item["title"]
        for item in response.get_json()["items"]
        if (item["response_breached"] or item["resolution_breached"]) == (value == "true")
    }

    assert desk.titles(f"breached={value}") == flagged
    assert flagged == {
        title for title, status in sla_board.items() if (status == "breached") == (value == "true")
    }


def test_breached_combines_with_other_filters(desk, sla_board):
    assert desk.titles("breached=true&priority=critical&status=resolved") == {
        "resolved late",
        "resolved unanswered",
    }


@pytest.mark.parametrize(
    "minutes_left, expected",
    [(61, "on_track"), (60, "on_track"), (59, "at_risk"), (1, "at_risk"), (0, "at_risk")],
)
def test_at_risk_boundary_is_a_quarter_of_the_window(desk, minutes_left, expected):
    """Medium: a 4 h response window, so at risk with less than 60 minutes left."""
    ticket_id = desk.open(T0)

    body = desk.read(ticket_id, at=after(hours=4) - timedelta(minutes=minutes_left))

    assert body["sla_status"] == expected
    assert desk.titles(f"sla_status={expected}") == {body["title"]}


def test_sla_fields_move_with_the_clock_but_the_etag_does_not(desk):
    ticket_id = desk.open(T0, priority="critical")
    early = desk.client.get(f"/api/tickets/{ticket_id}", headers=desk.agent)

    desk.freeze(after(hours=1))
    late = desk.client.get(f"/api/tickets/{ticket_id}", headers=desk.agent)

    assert (early.get_json()["sla_status"], late.get_json()["sla_status"]) == (
        "on_track",
        "breached",
    )
    assert early.headers["ETag"] == late.headers["ETag"]


@pytest.mark.parametrize(
    "microseconds_past_the_quarter, expected", [(0, "on_track"), (1, "at_risk")]
)
def test_at_risk_boundary_holds_to_the_microsecond(desk, microseconds_past_the_quarter, expected):
    created = T0 + timedelta(microseconds=123457)
    ticket_id = desk.open(created)  # medium: 4 h response window
    moment = created + timedelta(hours=3, microseconds=microseconds_past_the_quarter)

    body = desk.read(ticket_id, at=moment)

    assert body["sla_status"] == expected
    assert desk.titles(f"sla_status={expected}") == {body["title"]}
