"""The replay of open tickets after a change of the SLA rules, inline and by the worker's task:
what is stored (due and at-risk instants, paused seconds, policy, next alert, version), the
`ticket.updated` events and the `sla_policy_changed` activities, over several batches."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.event import Event
from app.services import ticket_sla
from app.tasks import sla as sla_tasks
from tests.ticket_support import (
    committed_activities,
    committed_ticket,
    create_ticket,
    forget_teardown,
    patch_ticket,
    rollback_after_each_request,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
CHANGED_AT = T0 + timedelta(hours=6)


def targets(response: int, resolution: int) -> dict:
    return {
        priority: {"response_minutes": response, "resolution_minutes": resolution}
        for priority in ("critical", "high", "medium", "low")
    }


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(autouse=True)
def _session_per_request(app):
    rollback = rollback_after_each_request(app)
    yield
    forget_teardown(app, rollback)


@pytest.fixture
def tickets(client, freeze_time, agent, requester, auth):
    """Six tickets created at T0 on the default policy, walked to their states by CHANGED_AT."""
    staff, own = auth(agent.user), auth(requester)

    def move(ticket_id, hours, *statuses):
        freeze_time(T0 + timedelta(hours=hours))
        for status in statuses:
            response = patch_ticket(client, ticket_id, staff, status=status)
            assert response.status_code == 200, response.get_json()

    freeze_time(T0)
    ids = {
        name: create_ticket(client, own, priority=priority)["id"]
        for name, priority in (
            ("open", "medium"),
            ("paused_before", "medium"),
            ("pending", "low"),
            ("critical", "critical"),
            ("resolved", "medium"),
            ("also_open", "high"),
        )
    }
    move(ids["paused_before"], 1, "in_progress", "pending")
    move(ids["paused_before"], 3, "in_progress")  # two hours paused
    move(ids["pending"], 2, "in_progress", "pending")  # pending since T0 + 2 h
    move(ids["resolved"], 1, "resolved")
    freeze_time(CHANGED_AT)
    return ids


def change_rules(client, writer) -> int:
    """New default targets, and a policy of its own for critical tickets; its id."""
    policies = client.get("/api/sla/policies", headers=writer).get_json()["items"]
    (default,) = [item for item in policies if item["is_default"]]
    response = client.patch(
        f"/api/sla/policies/{default['id']}", json={"targets": targets(30, 600)}, headers=writer
    )
    assert response.status_code == 200, response.get_json()
    body = {"name": "Critical", "conditions": {"priority": ["critical"]}, "targets": targets(5, 60)}
    response = client.post("/api/sla/policies", json=body, headers=writer)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def updated_events(ticket_id: int, after_id: int = 0) -> list[dict]:
    stmt = select(Event.payload).where(
        Event.ticket_id == ticket_id, Event.type == "ticket.updated", Event.id > after_id
    )
    return list(db.session.scalars(stmt.order_by(Event.id)))


def last_event_id() -> int:
    return db.session.scalar(select(func.coalesce(func.max(Event.id), 0)))


@pytest.mark.parametrize("mode", ["inline", "worker"])
def test_a_rule_change_replays_every_open_ticket_and_stores_it(
    app, client, tickets, manager, auth, monkeypatch, mode
):
    monkeypatch.setattr(ticket_sla, "BATCH", 2)  # six tickets, five open: three batches
    queued = []
    monkeypatch.setattr(sla_tasks, "enqueue_quietly", lambda task: queued.append(task.name))
    if mode == "worker":
        monkeypatch.setitem(app.config, "SLA_RECOMPUTE_INLINE_MAX", 0)
    before = {name: committed_ticket(ticket_id) for name, ticket_id in tickets.items()}
    last_event = last_event_id()

    critical_policy = change_rules(client, auth(manager))
    if mode == "worker":
        assert queued and committed_ticket(tickets["open"]).version == before["open"].version
        sla_tasks.recompute_sla.call_local()
    else:
        assert queued == []
    rows = {name: committed_ticket(ticket_id) for name, ticket_id in tickets.items()}
    # medium, 24/7: response 30 min, resolution 600 min (+ 2 h paused); at risk after 3/4.
    tick = timedelta(microseconds=1)
    assert (rows["open"].response_due_at, rows["open"].resolution_due_at) == (
        T0 + timedelta(minutes=30),
        T0 + timedelta(minutes=600),
    )
    assert rows["open"].response_at_risk_at == T0 + timedelta(seconds=22.5 * 60) + tick
    assert rows["open"].resolution_at_risk_at == T0 + timedelta(minutes=450) + tick
    # No response yet: the next alert is the response clock's, already at risk at CHANGED_AT.
    assert rows["open"].sla_next_alert_at == rows["open"].response_at_risk_at
    paused = rows["paused_before"]
    assert (paused.sla_paused_seconds, paused.resolution_due_at) == (
        7200,
        T0 + timedelta(minutes=600 + 120),
    )
    assert paused.resolution_at_risk_at == T0 + timedelta(minutes=450 + 120) + tick
    pending = rows["pending"]
    assert (pending.sla_paused_seconds, pending.sla_paused_at) == (0, T0 + timedelta(hours=2))
    assert pending.resolution_due_at == T0 + timedelta(minutes=600)
    critical = rows["critical"]
    assert (critical.sla_policy_id, critical.response_due_at, critical.resolution_due_at) == (
        critical_policy,
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=60),
    )
    # Each replay that changed a ticket wrote it once (the version) with one event of what it
    # stored. Inline, the critical ticket is replayed by both requests; the worker's one replay
    # serves both.
    for name in ("open", "paused_before", "pending", "critical", "also_open"):
        writes = 2 if (mode, name) == ("inline", "critical") else 1
        assert rows[name].version == before[name].version + writes, name
        events = updated_events(tickets[name], last_event)
        assert len(events) == writes, name
        assert events[-1]["resolution_due_at"] == iso(rows[name].resolution_due_at), name
        assert events[-1]["response_due_at"] == iso(rows[name].response_due_at), name
    assert updated_events(tickets["critical"], last_event)[-1]["sla_policy"] == {
        "id": critical_policy,
        "name": "Critical",
    }
    # Resolved tickets keep their due times.
    assert rows["resolved"] == before["resolved"]
    assert updated_events(tickets["resolved"], last_event) == []
    changes = [a for a in committed_activities(tickets["critical"]) if a[0] == "sla_policy_changed"]
    default_id = before["critical"].sla_policy_id
    assert changes == [
        ("sla_policy_changed", "sla_policy_id", str(default_id), str(critical_policy))
    ]
    assert not any(a[0] == "sla_policy_changed" for a in committed_activities(tickets["open"]))


def test_a_replay_that_changes_nothing_writes_nothing(app, client, tickets, manager, auth):
    writer = auth(manager)
    change_rules(client, writer)
    before = committed_ticket(tickets["open"])
    last_event = last_event_id()

    ticket_sla.recompute_open(None)
    db.session.commit()

    assert committed_ticket(tickets["open"]) == before
    assert updated_events(tickets["open"], last_event) == []


def test_a_replayed_ticket_can_be_changed_afterwards_with_its_new_version(
    client, tickets, manager, agent, auth
):
    change_rules(client, auth(manager))
    version = committed_ticket(tickets["open"]).version

    response = patch_ticket(client, tickets["open"], auth(agent.user), priority="high")

    assert response.status_code == 200, response.get_json()
    row = committed_ticket(tickets["open"])
    # A priority change re-matches with no flush midway: the ticket is written once.
    assert (row.priority, row.version) == ("high", version + 1)
    assert row.response_due_at == T0 + timedelta(minutes=30)
