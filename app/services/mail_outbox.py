"""Notification mails: attempts claimed, recorded and retried; the sweep; what was sent.

Attempts work as webhook deliveries' do (services/deliveries.py): one UPDATE claims a pending,
due, unleased mail, counts the attempt and leases it, so two workers never send the same
attempt; the result is recorded only if the mail is still at that attempt. A task lost with
the queue leaves a due mail, a killed worker a lease that runs out: the sweep finds both.
"""

import logging
import os
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from app import clock
from app.extensions import db
from app.models.mail import Mail
from app.services import mail_transport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    mail_id: int
    number: int  # the mail's `attempts` after the claim: identifies this attempt
    recipient: str
    content: str


def _claimable(now):
    return (
        Mail.status == "pending",
        Mail.next_attempt_at <= now,
        or_(Mail.locked_until.is_(None), Mail.locked_until <= now),
    )


def due_ids(limit: int = 1000) -> list[int]:
    """Pending mails whose attempt is due and not held by a live worker."""
    now = clock.now()
    statement = select(Mail.id).where(*_claimable(now)).order_by(Mail.next_attempt_at).limit(limit)
    return list(db.session.scalars(statement))


def claim(mail_id: int) -> Attempt | None:
    """Claim the next attempt of a mail, or None when it is not due or another worker has it.
    Commit before sending, so that the claim holds while the mail is out."""
    now = clock.now()
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    claimed = db.session.execute(
        update(Mail)
        .where(Mail.id == mail_id, *_claimable(now))
        .values(attempts=Mail.attempts + 1, locked_until=now + lease)
        .returning(Mail.attempts, Mail.recipient, Mail.content)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    return Attempt(mail_id, claimed.attempts, claimed.recipient, claimed.content)


def send(attempt: Attempt) -> str | None:
    """Hand the mail over; None when it went, else why not. Holds no database connection."""
    app = current_app
    try:
        mail_transport.deliver(
            attempt.content,
            attempt.recipient,
            app.config,
            os.path.join(app.instance_path, "mail"),
            f"{attempt.mail_id:08d}.eml",
        )
    except mail_transport.MailNotSent as error:
        logger.warning("Mail %s, attempt %s, not sent: %s", attempt.mail_id, attempt.number, error)
        return str(error)
    return None


def record(attempt: Attempt, error: str | None) -> float | None:
    """Store the attempt's outcome; the seconds until the next attempt, or None when there is
    none (sent, failed for good, or the attempt was no longer ours)."""
    now = clock.now()
    schedule = current_app.config["MAIL_RETRY_SCHEDULE"]
    retry_in = None
    values: dict = {"last_error": error, "locked_until": None}
    if error is None:
        values.update(status="sent", sent_at=now, next_attempt_at=None)
    elif attempt.number <= len(schedule):
        retry_in = schedule[attempt.number - 1]
        values.update(next_attempt_at=now + timedelta(seconds=retry_in))
    else:
        logger.error("Mail %s failed after %s attempts", attempt.mail_id, attempt.number)
        values.update(status="failed", next_attempt_at=None)
    result = db.session.execute(
        update(Mail)
        .where(
            Mail.id == attempt.mail_id,
            Mail.attempts == attempt.number,
            Mail.status == "pending",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return retry_in if result.rowcount == 1 else None
