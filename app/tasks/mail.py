"""Mail tasks: notifications from the outbox, attempts with their retries, and the sweep."""

from huey import crontab

from app.extensions import db
from app.services import mail_outbox, notifications
from app.tasks.queue import enqueue_quietly, periodic, task


@task()
def fan_out_mails() -> int:
    """Turn new outbox events into mails, then queue their first attempts."""
    created = 0
    more = True
    while more:
        ids, more = notifications.fan_out()
        db.session.commit()
        for mail_id in ids:
            enqueue_quietly(send_mail, mail_id)
        created += len(ids)
    return created


@task()
def send_mail(mail_id: int) -> None:
    """One attempt of a mail, if it is due and no other worker has it."""
    attempt = mail_outbox.claim(mail_id)
    db.session.commit()  # the claim holds while the mail is out
    if attempt is None:
        return
    error = mail_outbox.send(attempt)
    retry_in = mail_outbox.record(attempt, error)
    db.session.commit()
    if retry_in is not None:
        send_mail.schedule(args=(mail_id,), delay=retry_in)


@periodic(crontab(minute="*"))
def sweep_mails() -> int:
    """Catch up with the outbox, and queue again every due attempt that no worker holds."""
    fan_out_mails.call_local()
    due = mail_outbox.due_ids()
    db.session.rollback()
    for mail_id in due:
        enqueue_quietly(send_mail, mail_id)
    return len(due)
