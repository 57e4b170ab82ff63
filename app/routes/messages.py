"""/api/messages: messages on tickets and the ticket timeline."""

from flask import url_for
from flask.views import MethodView

from app.auth.guards import LOCATION_HEADER, Blueprint, me
from app.extensions import db
from app.routes.idempotent import idempotent
from app.schemas.common import PageQuerySchema
from app.schemas.message import (
    MessageCreateSchema,
    MessagePageSchema,
    MessageQuerySchema,
    MessageSchema,
    MessageUpdateSchema,
    TimelinePageSchema,
)
from app.services import messages as service
from app.services import tickets, timeline

blp = Blueprint("messages", __name__, url_prefix="/api/messages", description="Messages")


def _locked_message(message_id: int):
    return service.get_message(me(), message_id, for_update=True)


@blp.route("")
class Messages(MethodView):
    @blp.login_required()
    @idempotent("messages")
    @blp.arguments(MessageCreateSchema)
    @blp.response(201, MessageSchema, headers=LOCATION_HEADER)
    @blp.alt_response(403, description="Internal note by a requester")
    @blp.alt_response(404, description="Ticket not found or not visible")
    @blp.alt_response(409, description="The ticket is closed")
    def post(self, data):
        """Post a message (or, staff only, an internal note) on a ticket."""
        message = service.post_message(me(), data)
        return message, 201, {"Location": url_for("messages.Message", message_id=message.id)}


@blp.route("/ticket/<int:ticket_id>")
@blp.login_required()
@blp.arguments(MessageQuerySchema, location="query")
@blp.response(200, MessagePageSchema)
@blp.alt_response(404, description="Ticket not found or not visible")
def list_for_ticket(args, ticket_id):
    """A ticket's messages, oldest first (requesters: public ones)."""
    caller = me()
    return service.list_messages(caller, tickets.get_ticket(caller, ticket_id), args)


@blp.route("/ticket/<int:ticket_id>/timeline")
@blp.login_required()
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, TimelinePageSchema)
@blp.alt_response(404, description="Ticket not found or not visible")
def ticket_timeline(args, ticket_id):
    """Messages and activities merged in time order (requesters: no internal notes)."""
    caller = me()
    ticket = tickets.get_ticket(caller, ticket_id)
    return timeline.timeline(caller, ticket, args)


@blp.route("/<int:message_id>")
class Message(MethodView):
    @blp.login_required()
    @blp.versioned(MessageSchema)
    @blp.alt_response(404, description="Not found or not visible")
    def get(self, message_id):
        """Get a message."""
        return service.get_message(me(), message_id)

    @blp.login_required()
    @blp.arguments(MessageUpdateSchema)
    @blp.versioned(MessageSchema, load=_locked_message)
    @blp.alt_response(403, description="Not the author or an admin")
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="The ticket is closed")
    def put(self, data, message_id):
        """Edit a message's body (its author or an admin)."""
        message = _locked_message(message_id)
        service.edit_message(me(), message, data.get("body"))
        db.session.commit()
        return message

    patch = put  # PUT and PATCH both take partial bodies

    @blp.login_required()
    @blp.response(204)
    @blp.alt_response(403, description="Not the author or an admin")
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="The ticket is closed")
    def delete(self, message_id):
        """Delete a message (its author or an admin)."""
        caller = me()
        service.delete_message(caller, service.get_message(caller, message_id, for_update=True))
        db.session.commit()
