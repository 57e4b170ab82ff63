"""Helpers of the mail tests: the worker's mail tasks run in the test's thread, and what they
made."""

from sqlalchemy import select

from app.extensions import db
from app.models.mail import Mail
from app.services import mail_outbox, notifications
from app.tasks import mail as mail_tasks


def run_mail_tasks() -> list[int]:
    """The fan-out, then one attempt of every due mail, as the worker would; the new mail ids."""
    created, more = [], True
    while more:
        ids, more = notifications.fan_out()
        db.session.commit()
        created += ids
    for mail_id in mail_outbox.due_ids():
        mail_tasks.send_mail.call_local(mail_id)
    return created


def mails() -> list[Mail]:
    db.session.expire_all()
    return list(db.session.scalars(select(Mail).order_by(Mail.id)))


def kinds_by_recipient() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for mail in mails():
        found.setdefault(mail.recipient, []).append(mail.kind)
    return found
