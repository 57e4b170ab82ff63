"""Helpers shared by the ticket, workflow and SLA tests: HTTP shortcuts and committed-state reads.

Database reads go through a connection of their own, so they see what the service committed
and nothing a failed request may have left in the test's session.
"""

from sqlalchemy import func, select

from app.extensions import db
from app.models.ticket import Activity, Message, Ticket

TICKET_BODY = {
    "title": "VPN drops every hour",
    "description": "Since Monday the VPN disconnects at the top of every hour.",
}


def rollback_after_each_request(app):
    """Behave like the running service, whose session ends with each request.

    The test client reuses the test's app context, and with it one session for every request of
    a test; without this, changes a failed request made in memory could ride along with the next.
    """

    def _rollback(_error=None):
        db.session.rollback()

    # Appended directly: the session-wide app has served requests, so setup methods are closed.
    app.teardown_request_funcs.setdefault(None, []).append(_rollback)
    return _rollback


def forget_teardown(app, function) -> None:
    app.teardown_request_funcs[None].remove(function)


def create_ticket(client, headers: dict, **fields) -> dict:
    """POST a ticket (a valid default title and description) and return its body."""
    response = client.post("/api/tickets", json={**TICKET_BODY, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def patch_ticket(client, ticket_id: int, headers: dict, **fields):
    return client.patch(f"/api/tickets/{ticket_id}", json=fields, headers=headers)


def get_ticket(client, ticket_id: int, headers: dict) -> dict:
    response = client.get(f"/api/tickets/{ticket_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def post_message(client, ticket_id: int, headers: dict, *, internal: bool = False) -> dict:
    body = {"ticket_id": ticket_id, "body": "Looking into it.", "is_internal": internal}
    response = client.post("/api/messages", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _scalars(stmt) -> list:
    with db.engine.connect() as connection:
        return list(connection.execute(stmt))


def committed_ticket(ticket_id: int):
    """The committed `tickets` row (attribute access), or None."""
    rows = _scalars(select(Ticket.__table__).where(Ticket.__table__.c.id == ticket_id))
    return rows[0] if rows else None


def ticket_count() -> int:
    return _scalars(select(func.count()).select_from(Ticket.__table__))[0][0]


def committed_activities(ticket_id: int) -> list[tuple]:
    """(action, field, old_value, new_value) of the ticket's committed activities, in order."""
    table = Activity.__table__
    stmt = (
        select(table.c.action, table.c.field, table.c.old_value, table.c.new_value)
        .where(table.c.ticket_id == ticket_id)
        .order_by(table.c.id)
    )
    return [tuple(row) for row in _scalars(stmt)]


def message_count(ticket_id: int) -> int:
    table = Message.__table__
    stmt = select(func.count()).select_from(table).where(table.c.ticket_id == ticket_id)
    return _scalars(stmt)[0][0]
