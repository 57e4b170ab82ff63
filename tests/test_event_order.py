"""Event ids follow commit order, even when two transactions race."""

import threading
import time

from app.extensions import db
from app.models import Event, User
from app.services import events, tickets


def _new_ticket(user_id: int, title: str):
    user = db.session.get(User, user_id)
    return tickets.create_ticket(
        user, {"title": title, "description": "Race.", "priority": "low", "category": "other"}
    )


def test_a_later_writer_waits_for_the_earlier_commit_so_ids_follow_commit_order(app, requester):
    requester_id = requester.id
    a_has_ids = threading.Event()
    a_may_commit = threading.Event()
    commit_times: dict[str, float] = {}
    errors: list[BaseException] = []

    def writer_a():
        try:
            with app.app_context():
                _new_ticket(requester_id, "A")
                # Write A's outbox rows (taking their ids) but hold the transaction open.
                events._write_outbox(db.session())
                a_has_ids.set()
                a_may_commit.wait(10)
                db.session.commit()
                commit_times["A"] = time.monotonic()
        except BaseException as error:  # surfaced by the assertions below
            errors.append(error)
            a_has_ids.set()

    def writer_b():
        try:
            with app.app_context():
                _new_ticket(requester_id, "B")
                db.session.commit()
                commit_times["B"] = time.monotonic()
        except BaseException as error:
            errors.append(error)

    thread_a = threading.Thread(target=writer_a)
    thread_a.start()
    assert a_has_ids.wait(10)
    thread_b = threading.Thread(target=writer_b)
    thread_b.start()
    time.sleep(0.5)
    assert "B" not in commit_times, "B committed while A still held ids below B's"
    a_may_commit.set()
    thread_a.join(10)
    thread_b.join(10)
    assert not errors, errors
    assert commit_times["A"] < commit_times["B"]

    db.session.expire_all()
    rows = db.session.execute(db.select(Event.id, Event.payload).order_by(Event.id)).all()
    ticket_of = {p["id"]: p["title"] for _, p in rows if "title" in p}
    writer_of_row = [ticket_of[p.get("ticket_id", p["id"])] for _, p in rows]
    # Every event of A (taken first, committed first) precedes every event of B.
    assert writer_of_row == ["A", "A", "B", "B"]
