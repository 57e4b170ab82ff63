"""The bulk desk's people: 200 requesters and, while the desk has few agents, 15 agents."""

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from app.extensions import db
from app.models.user import Agent, User
from app.services.bulk.desk import HISTORY_DAYS
from app.services.bulk.words import DEPARTMENTS, FIRST_NAMES, LAST_NAMES
from app.services.passwords import hash_password

REQUESTER_COUNT = 200
MIN_ACTIVE_AGENTS = 20
BULK_AGENT_COUNT = 15
REQUESTER_PASSWORD = "requester123!"
AGENT_PASSWORD = "agent123!"
AGENT_TEAMS = (
    ("Network", ["network"]),
    ("Hardware", ["hardware"]),
    ("Software", ["software", "other"]),
    ("Access", ["access"]),
)
AVAILABILITIES = ("available", "available", "busy", "away")


def _insert_missing_users(rows: list[dict], password: str) -> dict[str, int]:
    """Insert the users of `rows` whose e-mail is new (hashing the password once); ids by e-mail."""
    emails = [row["email"] for row in rows]
    existing = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    missing = [row for row in rows if row["email"] not in existing]
    if missing:
        password_hash = hash_password(password)
        db.session.execute(
            insert(User), [{**row, "password_hash": password_hash} for row in missing]
        )
    return dict(db.session.execute(select(User.email, User.id).where(User.email.in_(emails))).all())


def _person(index: int, offset: int = 0) -> str:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    return f"{first} {LAST_NAMES[(index // len(FIRST_NAMES) + index + offset) % len(LAST_NAMES)]}"


def ensure_requesters(now: datetime) -> list[int]:
    joined = now - timedelta(days=HISTORY_DAYS + 30)
    rows = [
        {
            "email": f"bulk-requester-{number:04d}@example.com",
            "name": _person(number - 1),
            "role": "requester",
            "department": DEPARTMENTS[number % len(DEPARTMENTS)],
            "created_at": joined,
            "updated_at": joined,
        }
        for number in range(1, REQUESTER_COUNT + 1)
    ]
    ids = _insert_missing_users(rows, REQUESTER_PASSWORD)
    return [ids[row["email"]] for row in rows]


def _active_agents():
    return db.session.execute(
        select(Agent.id, Agent.user_id, Agent.team)
        .join(User, User.id == Agent.user_id)
        .where(Agent.is_active, User.is_active)
        .order_by(Agent.id)
    ).all()


def ensure_agents(now: datetime) -> list[tuple[int, int, str | None]]:
    """The active agents as (agent id, user id, team), first adding the bulk agents if few."""
    if len(_active_agents()) < MIN_ACTIVE_AGENTS:
        joined = now - timedelta(days=HISTORY_DAYS + 30)
        emails = [
            f"bulk-agent-{number:02d}@example.com" for number in range(1, BULK_AGENT_COUNT + 1)
        ]
        rows = [
            {
                "email": email,
                "name": _person(index, offset=7),
                "role": "agent",
                "department": "IT",
                "created_at": joined,
                "updated_at": joined,
            }
            for index, email in enumerate(emails)
        ]
        user_ids = _insert_missing_users(rows, AGENT_PASSWORD)
        with_profile = set(
            db.session.scalars(select(Agent.user_id).where(Agent.user_id.in_(user_ids.values())))
        )
        profiles = []
        for index, email in enumerate(emails):
            team, skills = AGENT_TEAMS[index % len(AGENT_TEAMS)]
            if user_ids[email] not in with_profile:
                profiles.append(
                    {
                        "user_id": user_ids[email],
                        "team": team,
                        "skills": skills,
                        "availability": AVAILABILITIES[index % len(AVAILABILITIES)],
                        "created_at": joined,
                        "updated_at": joined,
                    }
                )
        if profiles:
            db.session.execute(insert(Agent), profiles)
    return [tuple(row) for row in _active_agents()]
