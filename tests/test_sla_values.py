"""A ticket's SLA values (`response_breached`, `resolution_breached`, `sla_status`) are the same
in every representation of it: create and update responses, single reads, list items, event
payloads, the aging report and the export, as of the service's clock."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.event import Event
from tests.ticket_support import create_ticket, get_ticket, patch_ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
SLA_KEYS = ("response_breached", "resolution_breached", "sla_status")
ON_TRACK = {"response_breached": False, "resolution_breached": False, "sla_status": "on_track"}
BREACHED = {"response_breached": True, "resolution_breached": True, "sla_status": "breached"}


def sla_values(body: dict) -> dict:
    return {key: body[key] for key in SLA_KEYS}


def test_every_representation_of_a_ticket_shows_its_sla_values_now(
    client, admin, requester, auth, freeze_time
):
    freeze_time(T0)
    created = create_ticket(client, auth(requester), priority="critical")
    assert sla_values(created) == ON_TRACK

    freeze_time(T0 + timedelta(hours=1))  # unanswered past the 15 minutes of a critical ticket
    assert sla_values(get_ticket(client, created["id"], auth(requester))) == {
        "response_breached": True,
        "resolution_breached": False,
        "sla_status": "breached",
    }
    # Low priority: 8 hours to answer, so the update's response is on track again.
    patched = patch_ticket(client, created["id"], auth(admin), priority="low")
    assert patched.status_code == 200
    assert sla_values(patched.get_json()) == ON_TRACK
    staff, public = db.session.execute(
        select(Event.payload, Event.public_payload).where(Event.type == "ticket.updated")
    ).one()
    assert sla_values(staff) == ON_TRACK and sla_values(public) == ON_TRACK

    freeze_time(T0 + timedelta(days=4))  # past both due times of a low ticket
    assert sla_values(get_ticket(client, created["id"], auth(requester))) == BREACHED
    items = client.get("/api/tickets", headers=auth(admin)).get_json()["items"]
    assert [sla_values(item) for item in items] == [BREACHED]
    aging = client.get("/api/tickets/analytics/aging", headers=auth(admin)).get_json()
    assert [sla_values(ticket) for ticket in aging["oldest"]] == [BREACHED]
    export = client.get("/api/export/tickets", headers=auth(admin)).get_json()
    assert [sla_values(ticket) for ticket in export["items"]] == [BREACHED]
