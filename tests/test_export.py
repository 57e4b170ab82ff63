"""GET /api/export/tickets: every ticket changed since a cursor, in the order of changes, with
deleted tickets as tombstones, also under concurrent writers (API.md section 13)."""

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.ticket import Ticket
from app.models.user import User
from app.services import bulk, export, tickets
from tests.helpers import assert_problem
from tests.ticket_support import create_ticket, patch_ticket


@pytest.fixture
def boss(manager, auth):
    return auth(manager)


@pytest.fixture
def asker(requester, auth):
    return auth(requester)


@pytest.fixture
def staff_headers(admin, auth):
    return auth(admin)


def export_page(client, headers, cursor=None) -> dict:
    query = "" if cursor is None else f"?cursor={cursor}"
    response = client.get(f"/api/export/tickets{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def walk(client, headers, cursor=None) -> tuple[list, str]:
    """Every item from `cursor` to the end of the stream, and the cursor to poll with next."""
    items = []
    while True:
        page = export_page(client, headers, cursor)
        items += page["items"]
        cursor = page["next_cursor"]
        if page["end_of_stream"]:
            return items, cursor


def test_the_export_walks_every_ticket_once_in_the_order_of_changes(
    client, boss, asker, staff_headers, monkeypatch
):
    monkeypatch.setattr(export, "PAGE_SIZE", 2)
    ids = [create_ticket(client, asker)["id"] for _ in range(5)]
    patch_ticket(client, ids[1], staff_headers, priority="high")  # now the latest change

    items, cursor = walk(client, boss)
    assert [item["id"] for item in items] == [ids[0], ids[2], ids[3], ids[4], ids[1]]
    assert items[-1]["priority"] == "high"
    assert items[0]["message_count"] == 0 and "sla_policy" in items[0]  # the staff view

    assert walk(client, boss, cursor)[0] == []  # nothing changed since
    patch_ticket(client, ids[3], staff_headers, status="in_progress")
    client.delete(f"/api/tickets/{ids[0]}", headers=staff_headers)
    items, cursor = walk(client, boss, cursor)
    assert [item["id"] for item in items] == [ids[3], ids[0]]
    assert items[0]["status"] == "in_progress"
    assert items[1] == {"id": ids[0], "deleted": True}
    assert walk(client, boss, cursor)[0] == []


def test_a_change_committed_late_with_an_early_timestamp_is_not_skipped(
    app, client, boss, asker, staff_headers
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no commit can overtake another")
    slow, quick = (create_ticket(client, asker)["id"] for _ in range(2))
    _, cursor = walk(client, boss)
    staff_id = db.session.scalar(db.select(User.id).where(User.role == "admin"))
    flushed, go_on = threading.Event(), threading.Event()

    def slow_writer():
        with app.app_context():
            caller = db.session.get(User, staff_id)
            ticket = tickets.get_ticket(caller, slow, for_update=True)
            tickets.update_ticket(caller, ticket, {"title": "Changed first, committed last"})
            db.session.flush()
            flushed.set()
            go_on.wait(10)
            db.session.commit()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert flushed.wait(10)
    patch_ticket(client, quick, staff_headers, title="Changed second, committed first")
    seen, cursor = walk(client, boss, cursor)
    assert [item["id"] for item in seen] == [quick]
    go_on.set()
    writer.join(10)
    seen, _ = walk(client, boss, cursor)
    assert [(item["id"], item["title"]) for item in seen] == [
        (slow, "Changed first, committed last")
    ]


def test_only_managers_and_admins_export_and_cursors_cannot_be_forged(
    client, boss, asker, agent, auth
):
    assert_problem(client.get("/api/export/tickets", headers=auth(agent.user)), 403)
    assert_problem(client.get("/api/export/tickets", headers=asker), 403)
    assert_problem(client.get("/api/export/tickets"), 401)
    for cursor in ("not-a-cursor", export_page(client, boss)["next_cursor"] + "x"):
        problem = assert_problem(
            client.get(f"/api/export/tickets?cursor={cursor}", headers=boss), 400
        )
        assert "cursor" in problem["errors"]


def test_generated_tickets_come_before_live_changes_in_id_order(client, boss, asker, freeze_time):
    freeze_time("2026-03-02T09:00:00Z")
    live = create_ticket(client, asker)["id"]
    bulk.generate(4, seed=3)  # rows written without events
    generated = list(db.session.scalars(select(Ticket.id).where(Ticket.id != live)))
    db.session.rollback()
    items, _ = walk(client, boss)
    assert [item["id"] for item in items] == sorted(generated) + [live]
