"""/api/inbound/email: mail in, as a mail server's pipe or a provider's raw webhook sends it."""

from flask import current_app, request
from marshmallow import fields

from app.auth.guards import Blueprint
from app.extensions import db, limiter
from app.schemas.common import ResponseSchema
from app.services import inbound_mail

blp = Blueprint(
    "inbound", __name__, url_prefix="/api/inbound", description="E-mail in", rate_limited=False
)

RAW_MAIL_BODY = {
    "required": True,
    "description": "The raw message (RFC 5322), up to 10 MiB.",
    "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
}


class InboundResultSchema(ResponseSchema):
    OPENAPI_OPTIONAL_FIELDS = ("ticket_id", "message_id", "reason")

    action = fields.String(
        metadata={"enum": ["message_created", "ticket_created", "ignored"]},
    )
    ticket_id = fields.Integer()
    message_id = fields.Integer()
    reason = fields.String(metadata={"enum": ["auto_reply", "duplicate", "unknown_sender"]})


@blp.route("/email", methods=["POST"])
@limiter.exempt  # the mail server, authenticated by the token; a per-user limit would drop mail
@blp.doc(security=[{"inboundEmailToken": []}], requestBody=RAW_MAIL_BODY)
@blp.response(201, InboundResultSchema, description="A message or a ticket was created")
@blp.alt_response(200, schema=InboundResultSchema, description="Ignored, with the reason")
@blp.alt_response(400, description="The body is not an e-mail message")
@blp.alt_response(401, description="Not the INBOUND_EMAIL_TOKEN")
@blp.alt_response(404, description="No INBOUND_EMAIL_TOKEN is configured")
@blp.alt_response(413, description="The body is over 10 MiB")
def inbound_email():
    """Take in a mail: a reply becomes a message, any other mail a ticket (API.md section 12)."""
    inbound_mail.check_token(request.headers.get("Authorization"))
    request.max_content_length = current_app.config["INBOUND_EMAIL_MAX_BYTES"]
    result = inbound_mail.take_in(request.get_data(cache=False))
    db.session.commit()
    return result, 200 if result["action"] == "ignored" else 201
