"""SLA alerts from real `flask worker` processes: two workers scanning at once emit each alert
of a one-minute target once (API.md section 8)."""

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.event import Event
from app.models.ticket import Ticket
from tests.test_sla_api import policy_body, targets
from tests.ticket_support import committed_activities
from tests.workers import stop, wait_until, worker_process

# The ticket is made older than it is, so that its one-minute clock runs out within seconds.
AGED = timedelta(seconds=40)
SHIFTED = (
    "created_at",
    "response_due_at",
    "response_at_risk_at",
    "resolution_due_at",
    "resolution_at_risk_at",
    "sla_next_alert_at",
)


def alert_types(ticket_id: int) -> list[str]:
    with db.engine.connect() as connection:
        return list(
            connection.scalars(
                select(Event.type)
                .where(Event.ticket_id == ticket_id, Event.type.like("ticket.sla_%"))
                .order_by(Event.id)
            )
        )


def test_two_workers_warn_then_report_the_breach_of_a_one_minute_target_once(
    client, manager, requester, auth
):
    policy = policy_body(conditions={"category": ["network"]}, targets=targets(1, 600))
    created = client.post("/api/sla/policies", json=policy, headers=auth(manager))
    assert created.status_code == 201
    body = {"title": "No network", "description": "Cable unplugged?", "category": "network"}
    ticket = client.post("/api/tickets", json=body, headers=auth(requester)).get_json()
    row = db.session.get(Ticket, ticket["id"])
    for name in SHIFTED:
        setattr(row, name, getattr(row, name) - AGED)
    db.session.commit()

    workers = [worker_process(SLA_SCAN_SECONDS="0.5") for _ in range(2)]
    try:
        # At risk 45 s after creation (5 s from now), breached after 60 s (20 s from now).
        wait_until(lambda: len(alert_types(ticket["id"])) >= 2, timeout=45, interval=0.5)
        wait_until(lambda: False, timeout=2)  # both workers scan a few more times
    finally:
        for process in workers:
            stop(process)
    assert alert_types(ticket["id"]) == ["ticket.sla_warning", "ticket.sla_breached"]
    assert [row[:2] for row in committed_activities(ticket["id"])[1:]] == [
        ("sla_warning", "response"),
        ("sla_breached", "response"),
    ]
