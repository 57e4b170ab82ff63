"""Login sessions: a login starts one; logout, a password change or deactivation ends it.

Every token carries its session's id (`sid`) and is good only while the session's row exists
and has not ended. Ending sessions also writes a `session.ended` control event to the outbox,
in the same transaction, and each worker's dispatcher closes the matching open streams when
it reads that event (within a second, on every host). Changes of a user's role or active flag,
and the user's deletion, close their streams the same way, whatever code path makes them.
"""

import secrets

from flask import current_app
from sqlalchemy import bindparam, delete, event, inspect, select, update
from sqlalchemy.orm import Session

from app import clock
from app.extensions import db
from app.models.auth import AuthSession
from app.models.user import User
from app.services import events

SESSION_ENDED = "session.ended"


def start(user: User) -> AuthSession:
    session = AuthSession(
        id=secrets.token_hex(16),
        user_id=user.id,
        expires_at=clock.now() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
    )
    db.session.add(session)
    db.session.flush()
    return session


def live_user(user_id: int, session_id: str | None) -> User | None:
    """The user of a token of session `session_id`, or None when that session has ended,
    expired or belongs to somebody else (a deleted user's id given to a new user)."""
    from app.extensions import db

    if not session_id:
        return None
    return db.session.execute(
        LIVE_SESSION_USER, {"sid": session_id, "uid": user_id, "now": clock.now()}
    ).scalar()


def end(session_id: str, user_id: int) -> None:
    """End one session of `user_id` (logout); ending an ended one again changes nothing."""
    _end(db.session, AuthSession.id == session_id, AuthSession.user_id == user_id)
    events.queue_control(SESSION_ENDED, {"session_id": session_id}, db.session)


def delete_finished(batch: int) -> int:
    """Delete up to `batch` sessions that ended or expired (retention); how many went. A token
    whose session row is gone is refused like one whose session ended."""
    now = clock.now()
    ids = db.session.scalars(
        select(AuthSession.id)
        .where((AuthSession.ended_at.is_not(None)) | (AuthSession.expires_at <= now))
        .limit(batch)
    ).all()
    if not ids:
        return 0
    statement = delete(AuthSession).where(AuthSession.id.in_(ids))
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount


def end_all(user_id: int, except_session_id: str | None = None) -> None:
    """End every session of a user, but `except_session_id` (a password change by the user)."""
    conditions = [AuthSession.user_id == user_id]
    if except_session_id:
        conditions.append(AuthSession.id != except_session_id)
    _end(db.session, *conditions)
    ended = {"user_id": user_id, "except_session_id": except_session_id}
    events.queue_control(SESSION_ENDED, ended, db.session)


def _end(session: Session, *conditions) -> None:
    session.execute(
        update(AuthSession)
        .where(*conditions, AuthSession.ended_at.is_(None))
        .values(ended_at=clock.now())
        .execution_options(synchronize_session=False)
    )


# Built once: every authenticated request runs it.
LIVE_SESSION_USER = (
    select(User)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("sid"),
        User.id == bindparam("uid"),
        AuthSession.ended_at.is_(None),
        AuthSession.expires_at > bindparam("now"),
    )
)


@event.listens_for(Session, "before_flush")
def _close_streams_of_changed_users(session: Session, _context, _instances) -> None:
    """A user deleted, deactivated or given another role: their open streams end (they were
    opened with what the user could see before). Deactivation also ends their sessions."""
    for user in session.deleted:
        if isinstance(user, User):
            events.queue_control(SESSION_ENDED, {"user_id": user.id}, session)
    for user in session.dirty:
        if not isinstance(user, User):
            continue
        state = inspect(user)
        deactivated = state.attrs.is_active.history.deleted and not user.is_active
        if deactivated:
            _end(session, AuthSession.user_id == user.id)
        if deactivated or state.attrs.role.history.deleted:
            events.queue_control(SESSION_ENDED, {"user_id": user.id}, session)
