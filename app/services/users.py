"""Users: authentication, listing, create, update, delete."""

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict
from app.extensions import db
from app.models.ticket import Activity, Message, Ticket
from app.models.user import Agent, User
from app.services import pagination, sessions
from app.services.passwords import hash_password, verify_password

# Names sort as people read them ("alice" before "Bob"), on SQLite and PostgreSQL alike.
SORT_COLUMNS = {"name": func.lower(User.name), "email": User.email, "created_at": User.created_at}


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        return None
    return user


def list_users(args: dict) -> dict:
    stmt = select(User)
    if args.get("role"):
        stmt = stmt.where(User.role.in_(args["role"]))
    if "is_active" in args:
        stmt = stmt.where(User.is_active == args["is_active"])
    if args.get("q"):
        pattern = f"%{_escape_like(args['q'].lower())}%"
        stmt = stmt.where(
            or_(User.name.ilike(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    order = pagination.sort_order(args.get("sort"), SORT_COLUMNS, User.id)
    return pagination.paginate(stmt, order, args, list_name="users")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def create_user(data: dict) -> User:
    _ensure_email_free(data["email"])
    password = data.pop("password")
    user = User(**data, password_hash=hash_password(password))
    db.session.add(user)
    _flush_or_conflict()
    return user


def create_admin(data: dict, promote: bool = False) -> User:
    """A new admin from `data` (loaded by UserCreateSchema); with `promote`, a user who already
    has the e-mail becomes an active admin with the given password instead (409 without)."""
    existing = db.session.scalar(select(User).where(User.email == data["email"]))
    if existing is None:
        return create_user(data)
    if not promote:
        raise Conflict(
            f"A user with e-mail {data['email']} already exists; "
            "add --promote to make them an admin."
        )
    changes = {"role": "admin", "is_active": True, "password": data["password"]}
    return update_user(existing, changes)


AGENT_PROFILE_ROLES = ("agent", "manager")


def update_user(user: User, data: dict, keep_session_id: str | None = None) -> User:
    """Change `user`. A new password ends every session of theirs but `keep_session_id` (the
    one that changed it, when users change their own)."""
    if data.get("role", user.role) not in AGENT_PROFILE_ROLES and _has_agent_profile(
        user, active_only=True
    ):
        # An active agent profile belongs to an agent or a manager: tickets can be assigned to it.
        raise Conflict(
            "This user has an active agent profile, so their role must stay agent or manager; "
            "deactivate the agent profile first.",
            errors={"role": ["The user has an active agent profile."]},
        )
    if "email" in data and data["email"] != user.email:
        _ensure_email_free(data["email"])
    if "password" in data:
        user.password_hash = hash_password(data.pop("password"))
        sessions.end_all(user.id, except_session_id=keep_session_id)
    for name, value in data.items():
        setattr(user, name, value)
    _flush_or_conflict()
    return user


def delete_user(user: User) -> None:
    referenced = db.session.scalar(
        select(
            exists().where(Ticket.requester_id == user.id)
            | exists().where(Message.author_id == user.id)
            | exists().where(Activity.actor_id == user.id)
        )
    )
    if referenced:
        raise Conflict(
            "This user is referenced by tickets, messages or activities; "
            "deactivate the user (is_active: false) instead."
        )
    if _has_agent_profile(user):
        raise Conflict("This user has an agent profile; delete the profile or deactivate the user.")
    db.session.delete(user)
    db.session.flush()


def _has_agent_profile(user: User, active_only: bool = False) -> bool:
    condition = exists().where(Agent.user_id == user.id)
    if active_only:
        condition = condition.where(Agent.is_active)
    return bool(db.session.scalar(select(condition)))


def _ensure_email_free(email: str) -> None:
    if db.session.scalar(select(exists().where(User.email == email))):
        raise Conflict(f"A user with e-mail {email} already exists.", errors={"email": ["Taken."]})


def _flush_or_conflict() -> None:
    # Two requests racing for one e-mail: the unique index decides, the loser gets 409.
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict("A user with this e-mail already exists.") from error
