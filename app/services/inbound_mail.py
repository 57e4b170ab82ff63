"""Mail taken in (POST /api/inbound/email): a reply becomes a message on its ticket, any other
mail a new ticket, both through the same services as the API (activities, events, first
response, notifications); auto-replies, duplicates and unknown senders are ignored.
"""

import hmac

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import NotFound, ServiceError, Unauthorized
from app.extensions import db
from app.models.mail import InboundEmail, Mail
from app.models.ticket import Ticket
from app.models.user import User
from app.schemas.message import MessageCreateSchema
from app.schemas.ticket import TicketCreateSchema
from app.services import mail_messages, mail_parsing, messages, permissions, tickets

BODY_MAX = 10_000
DESCRIPTION_MAX = 20_000
TITLE_MAX = 200
NO_TEXT = "(The e-mail had no text.)"
NO_SUBJECT = "(no subject)"


class NotAMail(ServiceError):
    status, title = 400, "Bad Request"


def check_token(authorization: str | None) -> None:
    """404 while no INBOUND_EMAIL_TOKEN is configured; 401 for any other token."""
    token = current_app.config["INBOUND_EMAIL_TOKEN"]
    if not token:
        raise NotFound("The requested URL was not found on the server.")
    if not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise Unauthorized("Send the INBOUND_EMAIL_TOKEN as a bearer token.")


def take_in(raw: bytes) -> dict:
    """What the mail became: {"action": "message_created" | "ticket_created" | "ignored", ...}.
    The caller commits."""
    try:
        mail = mail_parsing.parse(raw)
    except mail_parsing.NotAMail as error:
        raise NotAMail(str(error)) from error
    if mail.automatic:
        return _ignored("auto_reply")
    record = None
    if mail.message_id is not None:
        record = _claim_message_id(mail)
        if record is None:
            return _ignored("duplicate")
    sender = _sender(mail)
    if sender is None:
        db.session.rollback()  # nor is the Message-ID taken in
        return _ignored("unknown_sender")
    ticket = _thread(mail, sender)
    if ticket is not None and ticket.status != "closed":
        result = _reply(sender, ticket, mail)
    else:
        result = _new_ticket(sender, mail, follows=ticket)
    if record is not None:
        record.action = result["action"]
        record.ticket_id = result["ticket_id"]
        record.ticket_message_id = result.get("message_id")
    db.session.flush()
    return result


def _ignored(reason: str) -> dict:
    return {"action": "ignored", "reason": reason}


def _claim_message_id(mail: mail_parsing.InboundMail) -> InboundEmail | None:
    """The row that takes the Message-ID in, written first: the same mail posted twice at once
    waits here for the first one's commit and then finds it (None)."""
    taken = select(InboundEmail.id).where(InboundEmail.message_id == mail.message_id)
    if db.session.scalar(taken) is not None:
        return None
    record = InboundEmail(message_id=mail.message_id, sender=mail.sender, action="pending")
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    return record


def _sender(mail: mail_parsing.InboundMail) -> User | None:
    user = db.session.scalar(select(User).where(User.email == mail.sender))
    if user is None and current_app.config["INBOUND_EMAIL_CREATE_REQUESTERS"]:
        name = mail.sender_name or mail.sender.split("@")[0]
        # No password: verify_password never accepts an empty hash.
        user = User(email=mail.sender, name=name[:120], role="requester", password_hash="")
        db.session.add(user)
        db.session.flush()
    if user is None or not user.is_active:
        return None
    return user


def _thread(mail: mail_parsing.InboundMail, sender: User) -> Ticket | None:
    """The ticket the mail answers, if the sender may see it: by `[#id]` in the subject, else
    by In-Reply-To/References naming one of our mails (or a mail we took in) of it."""
    for ticket_id in _candidate_ticket_ids(mail):
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None and permissions.can_see_ticket(sender, ticket):
            return ticket
    return None


def _candidate_ticket_ids(mail: mail_parsing.InboundMail) -> list[int]:
    candidates = [mail.ticket_tag] if mail.ticket_tag is not None else []
    if mail.references:
        domain = mail_messages.sender_address(current_app.config["MAIL_FROM"]).domain
        for message_id in mail.references:
            root = mail_messages.ticket_of_thread_root(message_id, domain)
            if root is not None:
                candidates.append(root)
        for model in (Mail, InboundEmail):
            candidates += db.session.scalars(
                select(model.ticket_id).where(
                    model.message_id.in_(mail.references), model.ticket_id.is_not(None)
                )
            )
    return list(dict.fromkeys(candidates))


def _reply(sender: User, ticket: Ticket, mail: mail_parsing.InboundMail) -> dict:
    body = _fit(mail_parsing.without_quotes(mail.text), BODY_MAX) or NO_TEXT
    data = MessageCreateSchema().load({"ticket_id": ticket.id, "body": body})
    message = messages.post_message(sender, data)
    return {"action": "message_created", "ticket_id": ticket.id, "message_id": message.id}


def _new_ticket(sender: User, mail: mail_parsing.InboundMail, follows: Ticket | None) -> dict:
    if follows is not None:  # a reply to a closed ticket
        title = mail.bare_subject or follows.title
        text = mail_parsing.without_quotes(mail.text)
        text = f"Follow-up to closed ticket #{follows.id}.\n\n{text}".strip()
    else:
        title, text = mail.subject, mail.text
    data = TicketCreateSchema().load(
        {
            "title": _fit(title, TITLE_MAX) or NO_SUBJECT,
            "description": _fit(text, DESCRIPTION_MAX) or NO_TEXT,
        }
    )
    ticket = tickets.create_ticket(sender, data)
    return {"action": "ticket_created", "ticket_id": ticket.id}


def _fit(text: str, limit: int) -> str:
    text = text.replace("\x00", "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
