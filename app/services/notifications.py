"""Notification mails, made from the outbox (API.md section 12).

Like webhook deliveries (services/deliveries.py): the fan-out walks the events after the `mail`
high-water mark, holding its row so that workers take turns, and inserts one rendered mail per
(event, recipient); the unique constraint makes a second one impossible even so. Who gets what:

- the requester: the confirmation of a new ticket (also when they raised it themselves), a
  public message by staff, the ticket resolved;
- the assigned agent: assigned to them, a public message by the requester, an SLA warning or
  breach (every active manager when the ticket is unassigned);
- never the user whose action caused it (the confirmation excepted), an inactive user, a user
  with `email_notifications` off, or a requester anything they could not see in the API: mails
  to requesters are rendered from the event's public payload, and there is none for internal
  notes.
"""

from dataclasses import dataclass, field

from flask import current_app, render_template
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models.background import MAIL
from app.models.event import Event
from app.models.mail import Mail
from app.models.ticket import Activity, Ticket
from app.models.user import STAFF_ROLES, Agent, User
from app.services import mail_messages, outbox_positions

FANOUT_BATCH = 500
SLA_EVENTS = ("ticket.sla_warning", "ticket.sla_breached")
MAILED_EVENTS = ("ticket.created", "activity.created", "message.created", *SLA_EVENTS)


@dataclass
class Notice:
    kind: str  # the template: app/templates/mail/<kind>.txt and .html
    recipient: User
    extra: dict = field(default_factory=dict)


@dataclass
class _Batch:
    """What the events of one batch refer to, loaded in a few queries."""

    tickets: dict[int, Ticket]
    agents: dict[int, Agent]
    creators: dict[int, int]  # ticket id -> the user who created it
    managers: list[User] | None = None

    def active_managers(self) -> list[User]:
        if self.managers is None:
            self.managers = list(
                db.session.scalars(select(User).where(User.role == "manager", User.is_active))
            )
        return self.managers


def fan_out(batch_size: int = FANOUT_BATCH) -> tuple[list[int], bool]:
    """Mails for the next events after the high-water mark: (their ids, whether more events may
    be waiting). The caller commits, and only then enqueues the ids."""
    position = outbox_positions.lock(MAIL)
    newest = db.session.scalar(select(func.max(Event.id))) or 0
    events = db.session.scalars(
        select(Event)
        .where(Event.id > position, Event.id <= newest, Event.type.in_(MAILED_EVENTS))
        .order_by(Event.id)
        .limit(batch_size)
    ).all()
    more = len(events) == batch_size
    if not events:
        outbox_positions.advance(MAIL, newest)
        return [], False
    batch = _load(events)
    rows = [
        _render(event, batch.tickets[event.ticket_id], notice)
        for event in events
        for notice in _notices(event, batch)
    ]
    created = outbox_positions.insert_ignoring_duplicates(Mail, rows, returning=Mail.id)
    outbox_positions.advance(MAIL, events[-1].id if more else newest)
    return created, more


def _load(events: list[Event]) -> _Batch:
    ticket_ids = {event.ticket_id for event in events if event.ticket_id is not None}
    tickets = {
        ticket.id: ticket
        for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))
    }
    agent_ids = set()
    created = set()
    for event in events:
        if event.type == "ticket.created":
            created.add(event.ticket_id)
            agent_ids.add((event.payload.get("assigned_agent") or {}).get("id"))
        elif event.type == "activity.created" and event.payload.get("action") == "assigned":
            agent_ids.add(_as_id(event.payload.get("new_value")))
    agent_ids.discard(None)
    agents = {a.id: a for a in db.session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))}
    creators = dict(
        db.session.execute(
            select(Activity.ticket_id, Activity.actor_id).where(
                Activity.ticket_id.in_(created), Activity.action == "created"
            )
        ).all()
    )
    return _Batch(tickets=tickets, agents=agents, creators=creators)


def _as_id(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _notices(event: Event, batch: _Batch) -> list[Notice]:
    """Who gets a mail about `event`, after the rules every mail follows."""
    ticket = batch.tickets.get(event.ticket_id)
    if ticket is None:  # deleted since: nothing to link to
        return []
    candidates, actor_id = _candidates(event, ticket, batch)
    notices, seen = [], set()
    for notice in candidates:
        user = notice.recipient
        caused_it = user.id == actor_id and notice.kind != "created"
        if user.id in seen or caused_it or not user.is_active or not user.email_notifications:
            continue
        seen.add(user.id)
        notices.append(notice)
    return notices


def _candidates(event: Event, ticket: Ticket, batch: _Batch) -> tuple[list[Notice], int | None]:
    payload, public = event.payload, event.public_payload
    if event.type == "ticket.created":
        notices = [Notice("created", ticket.requester)]
        agent = batch.agents.get((payload.get("assigned_agent") or {}).get("id"))
        if agent is not None:
            notices.append(Notice("assigned", agent.user))
        return notices, batch.creators.get(ticket.id)
    if event.type == "activity.created":
        action = payload.get("action")
        if action == "assigned":
            agent = batch.agents.get(_as_id(payload.get("new_value")))
            return ([Notice("assigned", agent.user)] if agent else []), payload.get("actor_id")
        resolved = payload.get("field") == "status" and payload.get("new_value") == "resolved"
        if resolved and public is not None:
            return [Notice("resolved", ticket.requester)], payload.get("actor_id")
        return [], None
    if event.type == "message.created":
        if public is None:  # an internal note
            return [], None
        author_id = public.get("author_id")
        if author_id == ticket.requester_id:
            agent = ticket.assigned_agent
            if agent is None:
                return [], author_id
            return [Notice("requester_message", agent.user, {"message": public})], author_id
        if (public.get("author") or {}).get("role") in STAFF_ROLES:
            return [Notice("reply", ticket.requester, {"message": public})], author_id
        return [], None
    if event.type in SLA_EVENTS:
        extra = {"clock": payload.get("clock"), "due_at": payload.get("due_at")}
        kind = event.type.removeprefix("ticket.")
        if ticket.assigned_agent is not None:
            return [Notice(kind, ticket.assigned_agent.user, extra)], None
        return [Notice(kind, manager, extra) for manager in batch.active_managers()], None
    return [], None


def _render(event: Event, ticket: Ticket, notice: Notice) -> dict:
    config = current_app.config
    sender = mail_messages.sender_address(config["MAIL_FROM"])
    subject = mail_messages.subject_for(ticket.id, ticket.title)
    message_id = mail_messages.new_message_id(ticket.id, sender.domain)
    context = {
        "ticket": ticket,
        "recipient": notice.recipient,
        "subject": subject,
        "link": f"{config['PUBLIC_URL']}/tickets/{ticket.id}",
        **notice.extra,
    }
    now = clock.now()
    message = mail_messages.compose(
        sender=sender,
        recipient_name=notice.recipient.name,
        recipient_email=notice.recipient.email,
        subject=subject,
        text=render_template(f"mail/{notice.kind}.txt", **context),
        html=render_template(f"mail/{notice.kind}.html", **context),
        message_id=message_id,
        thread_id=mail_messages.thread_root(ticket.id, sender.domain),
        date=now,
    )
    return {
        "event_id": event.id,
        "ticket_id": ticket.id,
        "recipient_id": notice.recipient.id,
        "recipient": notice.recipient.email,
        "kind": notice.kind,
        "subject": message["Subject"],
        "message_id": message_id,
        "content": message.as_string(),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
