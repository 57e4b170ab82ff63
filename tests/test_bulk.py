"""`flask seed --tickets N`: the bulk generator makes a deterministic and consistent desk."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import case, func, or_, select

from app import clock
from app.extensions import db
from app.models.ticket import Activity, Message, Ticket
from app.models.user import Agent, User
from app.services import bulk, sla, ticket_sla

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
COUNT = 300
SEED = 7


@pytest.fixture
def desk(freeze_time):
    freeze_time(NOW)
    assert bulk.generate(COUNT, SEED) == COUNT


def count_where(*conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket).where(*conditions))


def fingerprint(first_id: int = 0) -> dict:
    """Aggregates of the tickets from `first_id` on, plus a digest of their content in id order."""
    tickets = select(Ticket).where(Ticket.id >= first_id).subquery()
    by_status = db.session.execute(
        select(tickets.c.status, func.count()).group_by(tickets.c.status)
    ).all()
    by_priority = db.session.execute(
        select(tickets.c.priority, func.count()).group_by(tickets.c.priority)
    ).all()
    sums = db.session.execute(
        select(
            func.sum(tickets.c.message_count),
            func.sum(tickets.c.public_message_count),
            func.sum(tickets.c.sla_paused_seconds),
        )
    ).one()
    rows = db.session.execute(
        select(
            Ticket.title,
            Ticket.description,
            Ticket.status,
            Ticket.category,
            Ticket.created_at,
            Ticket.first_response_at,
            Ticket.resolved_at,
            Ticket.closed_at,
            Ticket.sla_paused_at,
        )
        .where(Ticket.id >= first_id)
        .order_by(Ticket.id)
    ).all()
    return {
        "by_status": dict(by_status),
        "by_priority": dict(by_priority),
        "sums": tuple(sums),
        "digest": hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest(),
    }


def test_the_same_seed_adds_the_same_tickets_and_no_new_users(desk):
    users = db.session.scalar(select(func.count()).select_from(User))
    agents = db.session.scalar(select(func.count()).select_from(Agent))
    assert users == bulk.REQUESTER_COUNT + bulk.BULK_AGENT_COUNT
    assert agents == bulk.BULK_AGENT_COUNT
    first_batch = fingerprint()

    assert bulk.generate(COUNT, SEED) == COUNT

    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2 * COUNT
    assert db.session.scalar(select(func.count()).select_from(User)) == users
    assert db.session.scalar(select(func.count()).select_from(Agent)) == agents
    second_batch_start = db.session.scalar(select(func.min(Ticket.id))) + COUNT
    assert fingerprint(second_batch_start) == first_batch
    bulk.generate(COUNT, SEED + 1)
    assert fingerprint(second_batch_start + COUNT)["digest"] != first_batch["digest"]


def test_the_mix_is_realistic(desk):
    shares = fingerprint()
    by_priority = shares["by_priority"]
    for priority, share in {"critical": 0.10, "high": 0.25, "medium": 0.45, "low": 0.20}.items():
        assert abs(by_priority.get(priority, 0) / COUNT - share) < 0.07, by_priority
    by_status = shares["by_status"]
    done = by_status.get("resolved", 0) + by_status.get("closed", 0)
    assert 0.6 < done / COUNT < 0.8, by_status
    assert {"open", "in_progress", "pending", "resolved", "closed"} <= set(by_status)
    assert count_where(Ticket.first_response_at.is_not(None)) > 0.8 * COUNT
    assert count_where(Ticket.assigned_agent_id.is_(None), Ticket.status != "open") == 0
    oldest, newest = db.session.execute(
        select(func.min(Ticket.created_at), func.max(Ticket.created_at))
    ).one()
    assert NOW - timedelta(days=366) < oldest < NOW - timedelta(days=300)
    assert NOW - timedelta(days=3) < newest <= NOW
    latest = [Ticket.updated_at, Ticket.first_response_at, Ticket.resolved_at, Ticket.closed_at]
    assert count_where(or_(*(moment > NOW for moment in latest))) == 0
    assert count_where(Ticket.updated_at < Ticket.created_at) == 0


def test_clocks_follow_the_default_policy_as_the_live_path_computes_them(desk):
    default = ticket_sla.default_policy()
    tickets = db.session.scalars(select(Ticket)).unique().all()
    assert len(tickets) == COUNT
    for ticket in tickets:
        response, resolution = sla.targets_for(default, ticket.priority)
        expected = sla.clock_instants(
            None, ticket.created_at, response, resolution, ticket.sla_paused_seconds
        )
        assert ticket.sla_policy_id == default.id
        assert tuple(getattr(ticket, name) for name in expected._fields) == expected, ticket.id


def test_open_clocks_already_past_an_alert_count_as_alerted(desk):
    now = clock.now()
    tickets = db.session.scalars(select(Ticket)).unique().all()
    alerted = 0
    for ticket in tickets:
        for name in sla.alerted_clocks(ticket):
            had, at_risk_at, due_at = sla.clock_values(ticket, name)
            reading = now if name == "response" else (ticket.sla_paused_at or now)
            assert sla.alert_due(had, at_risk_at, due_at, reading) is None, (ticket.id, name)
            alerted += had is not None
        assert ticket.sla_next_alert_at == sla.next_alert_at(ticket), ticket.id
    assert alerted > 0


def test_some_tickets_breach_and_some_were_paused(desk):
    now = clock.now()
    assert 0 < count_where(sla.breached_sql(now)) < COUNT / 2
    assert count_where(Ticket.first_response_at > Ticket.response_due_at) > 0
    assert count_where(Ticket.resolved_at > Ticket.resolution_due_at) > 0
    assert count_where(Ticket.resolved_at <= Ticket.resolution_due_at) > 0
    assert count_where(Ticket.sla_paused_seconds > 0) > 0
    pending = count_where(Ticket.status == "pending")
    assert pending > 0
    assert count_where(Ticket.status == "pending", Ticket.sla_paused_at.is_not(None)) == pending
    assert count_where(Ticket.status != "pending", Ticket.sla_paused_at.is_not(None)) == 0
    assert count_where(Ticket.sla_paused_at > now) == 0


def test_message_counts_match_the_messages(desk):
    counted = (
        select(
            Message.ticket_id,
            func.count().label("messages"),
            func.sum(case((Message.is_internal, 0), else_=1)).label("public"),
        )
        .group_by(Message.ticket_id)
        .subquery()
    )
    mismatched = select(func.count()).select_from(
        select(Ticket.id)
        .outerjoin(counted, counted.c.ticket_id == Ticket.id)
        .where(
            or_(
                Ticket.message_count != func.coalesce(counted.c.messages, 0),
                Ticket.public_message_count != func.coalesce(counted.c.public, 0),
            )
        )
        .subquery()
    )
    assert db.session.scalar(mismatched) == 0
    messages = db.session.scalar(select(func.count()).select_from(Message))
    assert 1.5 * COUNT < messages < 2.5 * COUNT
    internal = db.session.scalar(select(func.count()).where(Message.is_internal))
    assert 0 < internal < messages / 4


def test_first_response_is_the_first_public_staff_message(desk):
    staff_replies: dict[int, datetime] = {}
    rows = db.session.execute(
        select(Message.ticket_id, Message.created_at, Message.is_internal, User.role)
        .join(User, User.id == Message.author_id)
        .order_by(Message.created_at)
    ).all()
    for ticket_id, created_at, is_internal, role in rows:
        if not is_internal and role != "requester":
            staff_replies.setdefault(ticket_id, created_at)
    tickets = db.session.execute(
        select(Ticket.id, Ticket.first_response_at, Ticket.resolved_at, Ticket.created_at)
    ).all()
    for ticket_id, first_response_at, _resolved_at, _created_at in tickets:
        assert staff_replies.get(ticket_id) == first_response_at
    last_message = dict(
        db.session.execute(
            select(Message.ticket_id, func.max(Message.created_at)).group_by(Message.ticket_id)
        ).all()
    )
    for ticket_id, _first, resolved_at, created_at in tickets:
        if ticket_id in last_message:
            assert created_at <= last_message[ticket_id] <= (resolved_at or NOW)


def test_every_ticket_has_one_created_activity_and_its_status_history(desk):
    created = (
        select(func.count())
        .where(Activity.ticket_id == Ticket.id, Activity.action == "created")
        .scalar_subquery()
    )
    assert count_where(created != 1) == 0
    statuses = dict(db.session.execute(select(Ticket.id, Ticket.status)).all())
    history: dict[int, list] = {ticket_id: [] for ticket_id in statuses}
    for ticket_id, action, old, new in db.session.execute(
        select(Activity.ticket_id, Activity.action, Activity.old_value, Activity.new_value)
        .where(Activity.action != "created")
        .order_by(Activity.id)
    ):
        assert action == "status_changed"
        history[ticket_id].append((old, new))
    for ticket_id, changes in history.items():
        current = "open"
        for old, new in changes:
            assert old == current
            current = new
        assert current == statuses[ticket_id]
    assert db.session.scalar(select(func.count()).select_from(Activity)) > 2 * COUNT


def test_generated_tickets_are_listed_and_searchable(desk, client, auth, admin):
    response = client.get("/api/tickets?per_page=5", headers=auth(admin))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == COUNT
    newest = body["items"][0]
    assert newest["requester"]["email"].startswith("bulk-requester-")
    assert newest["sla_status"] in ("met", "breached", "at_risk", "on_track")

    word = re.compile(r"\bvpn\b", re.IGNORECASE)
    texts = db.session.execute(select(Ticket.id, Ticket.title, Ticket.description)).all()
    expected = {ticket_id for ticket_id, *text in texts if word.search(" ".join(text))}
    assert expected
    response = client.get("/api/tickets?q=vpn&per_page=100", headers=auth(admin))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(expected)
    assert {item["id"] for item in body["items"]} == expected
