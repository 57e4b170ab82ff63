"""A ticket's timeline: its messages and activities merged in time order, ties by id."""

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models.ticket import Activity, Message, Ticket
from app.models.user import User
from app.services import pagination, permissions
from app.services.messages import AUTHOR_SUMMARY

ACTOR_SUMMARY = joinedload(Activity.actor).load_only(User.name)


class TimelineEntry:
    """A message or an activity with its `type`, for the timeline's dump schema."""

    def __init__(self, entry_type: str, item):
        self.type = entry_type
        self._item = item

    def __getattr__(self, name):
        return getattr(self._item, name)


def _entries(caller: User, ticket: Ticket):
    messages = select(
        literal("message").label("type"), Message.id.label("id"), Message.created_at
    ).where(Message.ticket_id == ticket.id)
    activities = select(
        literal("activity").label("type"), Activity.id.label("id"), Activity.created_at
    ).where(Activity.ticket_id == ticket.id)
    if not permissions.is_staff(caller):
        messages = messages.where(Message.is_internal.is_(False))
        activities = activities.where(Activity.about_internal_note.is_(False))
    return union_all(messages, activities).subquery("timeline")


def timeline(caller: User, ticket: Ticket, args: dict) -> dict:
    """Three statements whatever the page size: the page of keys (with the total), then its
    messages and its activities."""
    entries = _entries(caller, ticket)
    order = pagination.Order(
        ((entries.c.created_at, False), (entries.c.id, False), (entries.c.type, False))
    )
    page = pagination.paginate(
        select(entries.c.type, entries.c.id),
        order,
        args,
        list_name=f"timeline:{ticket.id}",
        item=lambda row: row,
    )
    keys = page["items"]
    wanted = {"message": [], "activity": []}
    for key in keys:
        wanted[key.type].append(key.id)
    loaded = {
        ("message", m.id): m
        for m in db.session.scalars(
            select(Message).where(Message.id.in_(wanted["message"])).options(AUTHOR_SUMMARY)
        )
    }
    loaded.update(
        (("activity", a.id), a)
        for a in db.session.scalars(
            select(Activity).where(Activity.id.in_(wanted["activity"])).options(ACTOR_SUMMARY)
        )
    )
    page["items"] = [TimelineEntry(key.type, loaded[(key.type, key.id)]) for key in keys]
    return page
