"""Login sessions: a login starts one; logout, a password change or deactivation ends it.

Every token carries its session's id (`sid`) and is good only while the session's row exists
and has not ended. Ending sessions also writes a `session.ended` control event to the outbox,
in the same transaction, and each worker's dispatcher closes the matching open streams when
it reads that event (within a second, on every host). Changes of a user's role or active flag,
and the user's deletion, close their streams the same way, whatever code path makes them.
"""

import secrets

from flask import current_app
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from app.models.auth import AuthSession
from app.models.user import User
from app.services import clock, events

SESSION_ENDED = "session.ended"


def start(user: User) -> AuthSession:
    from app.extensions import db

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
    _end(AuthSession.id == session_id, AuthSession.user_id == user_id)
    events.queue_control(SESSION_ENDED, {"session_id": session_id})


def end_all(user_id: int, except_session_id: str | None = None) -> None:
    """End every session of a user, but `except_session_id` (a password change by the user)."""
    conditions = [AuthSession.user_id == user_id]
    if except_session_id:
        conditions.append(AuthSession.id != except_session_id)
    _end(*conditions)
    events.queue_control(
        SESSION_ENDED, {"user_id": user_id, "except_session_id": except_session_id}
    )


def _end(*conditions) -> None:
    from app.extensions import db

    db.session.execute(
        update(AuthSession)
        .where(*conditions, AuthSession.ended_at.is_(None))
        .values(ended_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def _live_session_user():
    from sqlalchemy import bindparam

    return (
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            AuthSession.id == bindparam("sid"),
            User.id == bindparam("uid"),
            AuthSession.ended_at.is_(None),
            AuthSession.expires_at > bindparam("now"),
        )
    )


# Built once: every authenticated request runs it.
LIVE_SESSION_USER = _live_session_user()


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
            session.execute(
                update(AuthSession)
                .where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
                .values(ended_at=clock.now())
                .execution_options(synchronize_session=False)
            )
        if deactivated or state.attrs.role.history.deleted:
            events.queue_control(SESSION_ENDED, {"user_id": user.id}, session)
