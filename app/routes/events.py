"""Server-Sent Events: /api/events, /api/tickets/{id}/events, and stream tokens."""

from datetime import UTC, datetime

from flask import Response, request, stream_with_context
from flask_jwt_extended import get_jwt
from marshmallow import fields

from app.access_token import verify_access_token
from app.auth import tokens
from app.auth.guards import Blueprint, me
from app.errors import Unauthorized
from app.models.webhook import EVENT_TYPES
from app.schemas.common import ResponseSchema
from app.services import permissions, streams, tickets
from app.services.dispatcher import Subscriber

blp = Blueprint("events", __name__, url_prefix="/api", description="Real-time events")

STREAM_DOC = {
    "parameters": [
        {"in": "header", "name": "Last-Event-ID", "schema": {"type": "string"}},
        {"in": "query", "name": "last_event_id", "schema": {"type": "string"}},
        {
            "in": "query",
            "name": "token",
            "schema": {"type": "string"},
            "description": "A stream token from POST /api/events/token, for EventSource.",
        },
    ],
}
# The schema of one event, as OpenAPI 3.2 describes an SSE stream and schemathesis checks each one.
STREAM_EVENT = {
    "type": "object",
    "description": "One Server-Sent Event (text/event-stream); comment lines are heartbeats.",
    "properties": {
        "id": {"type": "string", "description": "The event's id, increasing across the service."},
        "event": {"type": "string", "enum": [*EVENT_TYPES, "reset", "error"]},
        "data": {"type": "string", "description": "The event's JSON object."},
        "retry": {"type": "integer", "description": "Reconnection delay in milliseconds."},
    },
    "required": ["event", "data"],
}
# The project Blueprint's response() adds the X-RateLimit-* headers, as on every limited route.
STREAM_RESPONSE = {
    "schema": STREAM_EVENT,
    "content_type": "text/event-stream",
    "description": "An event stream",
}


class StreamTokenSchema(ResponseSchema):
    token = fields.String()
    expires_in = fields.Integer()


@blp.route("/events/token", methods=["POST"])
@blp.login_required()
@blp.response(201, StreamTokenSchema)
def stream_token():
    """A short-lived token that only opens event streams (for EventSource, as ?token=)."""
    return tokens.issue_stream_token(me(), get_jwt())


def _stream_caller():
    """The user and token claims of a stream: a stream token in ?token=, or the bearer header."""
    query_token = request.args.get("token")
    if query_token:
        return tokens.verify_stream_token(query_token)
    claims = verify_access_token()
    if claims.get("scope") == "stream":
        raise Unauthorized("Send a stream token as ?token=, not as a bearer header.")
    return me(), claims


def _event_stream(ticket_id: int | None) -> Response:
    caller, claims = _stream_caller()
    if ticket_id is not None:
        tickets.get_ticket(caller, ticket_id)  # 404 when unknown or not visible
    last_event_id = streams.parse_last_event_id(
        request.headers.get("Last-Event-ID", request.args.get("last_event_id"))
    )
    subscriber = Subscriber(
        user_id=caller.id,
        is_staff=permissions.is_staff(caller),
        session_id=claims["sid"],
        ticket_id=ticket_id,
    )
    expires_at = datetime.fromtimestamp(claims["exp"], UTC) if "exp" in claims else None
    body = streams.open_stream(subscriber, last_event_id, expires_at)
    return Response(
        stream_with_context(body),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def stream_errors(func):
    """The errors of opening a stream, in OpenAPI."""
    func = blp.alt_response(401, description="Missing, invalid or ended session's token")(func)
    func = blp.alt_response(422, description="Last-Event-ID is not an event id")(func)
    return blp.alt_response(
        429, description="Rate limit exceeded, or EVENTS_MAX_STREAMS_PER_USER streams already open"
    )(func)


@blp.route("/events")
@blp.doc(security=[{"bearerAuth": []}], **STREAM_DOC)
@blp.response(200, **STREAM_RESPONSE)
@stream_errors
def all_events():
    """Every event on every ticket the caller can see, plus ticket.created."""
    return _event_stream(None)


@blp.route("/tickets/<int:ticket_id>/events")
@blp.doc(security=[{"bearerAuth": []}], **STREAM_DOC)
@blp.response(200, **STREAM_RESPONSE)
@stream_errors
@blp.alt_response(404, description="Not found or not visible")
def ticket_events(ticket_id):
    """The events of one ticket the caller can see."""
    return _event_stream(ticket_id)
