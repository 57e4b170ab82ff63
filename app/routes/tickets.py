"""/api/tickets."""

from flask import url_for
from flask.views import MethodView

from app.auth.guards import Blueprint, me
from app.extensions import db
from app.routes.etag import check_if_match, etag_header
from app.routes.idempotent import idempotent
from app.schemas.ticket import (
    TicketCreateSchema,
    TicketPageSchema,
    TicketQuerySchema,
    TicketSchema,
    TicketUpdateSchema,
)
from app.services import permissions
from app.services import tickets as service

blp = Blueprint("tickets", __name__, url_prefix="/api/tickets", description="Tickets")
_dump = TicketSchema().dump


@blp.route("")
class Tickets(MethodView):
    @blp.login_required()
    @blp.arguments(TicketQuerySchema, location="query")
    @blp.response(200, TicketPageSchema)
    def get(self, args):
        """List tickets (requesters: their own), filtered and sorted."""
        return service.list_tickets(me(), args)

    @blp.login_required()
    @idempotent("tickets")
    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketSchema)
    @blp.alt_response(403, description="A field your role may not set")
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "schema": {"type": "string", "maxLength": 255},
            }
        ]
    )
    def post(self, data):
        """Open a ticket (requesters for themselves; staff for anyone)."""
        ticket = service.create_ticket(me(), data)
        return ticket, 201, {"Location": url_for("tickets.Ticket", ticket_id=ticket.id)}


@blp.route("/<int:ticket_id>")
class Ticket(MethodView):
    @blp.login_required()
    @blp.response(200, TicketSchema)
    @blp.alt_response(404, description="Not found or not visible")
    def get(self, ticket_id):
        """Get a ticket."""
        ticket = service.get_ticket(me(), ticket_id)
        return ticket, 200, etag_header(_dump(ticket))

    @blp.login_required()
    @blp.arguments(TicketUpdateSchema)
    @blp.response(200, TicketSchema)
    @blp.alt_response(403, description="A field your role may not set")
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="Transition not allowed, or the ticket is closed")
    @blp.alt_response(412, description="If-Match failed")
    def put(self, data, ticket_id):
        """Update a ticket (partial)."""
        caller = me()
        ticket = service.get_ticket(caller, ticket_id, for_update=True)
        check_if_match(_dump(ticket))
        service.update_ticket(caller, ticket, data)
        db.session.commit()
        return ticket, 200, etag_header(_dump(ticket))

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
