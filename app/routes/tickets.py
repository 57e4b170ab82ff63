"""/api/tickets."""

from flask import url_for
from flask.views import MethodView

from app import clock
from app.auth.guards import LOCATION_HEADER, STAFF, Blueprint, me
from app.extensions import db
from app.routes.idempotent import idempotent
from app.schemas.sla import TicketSlaSchema
from app.schemas.ticket import (
    TicketCountSchema,
    TicketCreateSchema,
    TicketFilterSchema,
    TicketPageSchema,
    TicketQuerySchema,
    TicketSchema,
    TicketUpdateSchema,
)
from app.services import permissions, sla_view
from app.services import tickets as service

blp = Blueprint("tickets", __name__, url_prefix="/api/tickets", description="Tickets")
WORKFLOW = """\
**Workflow** (`status`): `open` ⇄ `in_progress` ⇄ `pending`; any of those → `resolved` →
`closed`; `resolved` → `open` (reopen). `closed` is final, except that an admin or manager
may reopen it to `open`. Any other transition gets 409, except that a requester may withdraw
(set `closed`) their own ticket from any status other than `closed`. Entering `resolved`
sets `resolved_at`; reopening clears it; entering `closed` sets `closed_at` (and
`resolved_at` if unset). A public message from the requester on a `resolved` ticket reopens
it. Assigning (`assigned_agent_id`) to an inactive or unknown agent gets 422; an `open`
ticket that gets assigned stays `open` unless the status is also changed."""
with_workflow = blp.doc(description=WORKFLOW)


def _locked_ticket(ticket_id: int):
    return service.get_ticket(me(), ticket_id, for_update=True)


@blp.route("")
class Tickets(MethodView):
    @blp.login_required()
    @blp.arguments(TicketQuerySchema, location="query")
    @blp.response(200, TicketPageSchema)
    @with_workflow
    def get(self, args):
        """List tickets (requesters: their own), filtered and sorted."""
        return service.list_tickets(me(), args)

    @blp.login_required()
    @idempotent("tickets")
    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketSchema, headers=LOCATION_HEADER)
    @blp.alt_response(403, description="A field your role may not set")
    @with_workflow
    def post(self, data):
        """Open a ticket (requesters for themselves; staff for anyone)."""
        ticket = service.create_ticket(me(), data)
        return ticket, 201, {"Location": url_for("tickets.Ticket", ticket_id=ticket.id)}


@blp.route("/count")
class TicketCount(MethodView):
    @blp.login_required()
    @blp.arguments(TicketFilterSchema, location="query")
    @blp.response(200, TicketCountSchema)
    def get(self, args):
        """Count the tickets the list with these filters holds (requesters: their own)."""
        return {"count": service.count_tickets(me(), args)}


@blp.route("/<int:ticket_id>")
class Ticket(MethodView):
    @blp.login_required()
    @blp.versioned(TicketSchema)
    @blp.alt_response(404, description="Not found or not visible")
    @with_workflow
    def get(self, ticket_id):
        """Get a ticket."""
        return service.get_ticket(me(), ticket_id)

    @blp.login_required()
    @blp.arguments(TicketUpdateSchema)
    @blp.versioned(TicketSchema, load=_locked_ticket)
    @blp.alt_response(403, description="A field your role may not set")
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="Transition not allowed, or the ticket is closed")
    @with_workflow
    def put(self, data, ticket_id):
        """Update a ticket (partial)."""
        ticket = _locked_ticket(ticket_id)
        service.update_ticket(me(), ticket, data)
        db.session.commit()
        return ticket

    patch = put  # PUT and PATCH both take partial bodies

    @blp.login_required()
    @blp.response(204)
    @blp.alt_response(404, description="Not found or not visible")
    def delete(self, ticket_id):
        """Delete a ticket with its messages and activities (admin)."""
        caller = me()
        ticket = service.get_ticket(caller, ticket_id)
        permissions.require(caller.role == "admin", "Only an admin may delete tickets.")
        service.delete_ticket(ticket)
        db.session.commit()


@blp.route("/<int:ticket_id>/sla")
class TicketSla(MethodView):
    @blp.login_required(*STAFF, hidden_from=("requester",))
    @blp.response(200, TicketSlaSchema)
    @blp.alt_response(404, description="Not found or not visible")
    def get(self, ticket_id):
        """How the ticket's SLA stands: its policy, calendar, both clocks and its pauses
        (staff)."""
        ticket = service.get_ticket(me(), ticket_id)
        return sla_view.ticket_sla_view(ticket, clock.now())
