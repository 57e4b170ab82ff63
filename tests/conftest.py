"""Test fixtures: the app on TEST_DATABASE_URL (SQLite by default), built by the migrations.

Each test starts from empty tables (truncation), so tests that use several connections or
threads see committed data exactly as the running service would.
"""

import os
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, select, text, update

from app import clock, create_app
from app.auth import tokens
from app.extensions import db, limiter
from app.models.sla import SlaCalendar, SlaPolicy
from app.models.ticket import Ticket
from app.models.user import Agent, User
from app.services import pagination, ticket_dumps, ticket_sla
from app.services.dispatcher import reset_dispatchers
from app.services.passwords import hash_password

MICROSECOND = timedelta(microseconds=1)

TABLES = (
    "sla_recomputes",
    "mails",
    "inbound_emails",
    "webhook_deliveries",
    "webhooks",
    "worker_heartbeats",
    "outbox_positions",
    "events",
    "event_streams",
    "idempotency_keys",
    "auth_sessions",
    "ticket_changes",
    "ticket_activities",
    "ticket_messages",
    "tickets",
    "agents",
    "users",
)
# The SLA tables are emptied too, except for the default policy, which the migrations create:
# it gets back the values the migrations gave it (kept here after they ran).
_migrated_default_policy: dict = {}
PASSWORD = "correct-horse-battery"


def _reset_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        path = db.engine.url.database
        db.engine.dispose()
        if path and os.path.exists(path):
            os.remove(path)
    upgrade()
    policies = SlaPolicy.__table__
    with db.engine.connect() as connection:
        row = connection.execute(select(policies).where(policies.c.is_default)).mappings().one()
    _migrated_default_policy.update(row)


def _truncate() -> None:
    db.session.remove()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(text("DELETE FROM sqlite_sequence"))
        _reset_sla_tables(connection)
    reset_dispatchers()


def _reset_sla_tables(connection) -> None:
    policies = SlaPolicy.__table__
    default = policies.c.id == _migrated_default_policy["id"]
    connection.execute(update(policies).where(default).values(**_migrated_default_policy))
    connection.execute(delete(policies).where(~default))
    connection.execute(delete(SlaCalendar.__table__))


def migrated_default_policy() -> dict:
    """The default policy's row as the migrations created it."""
    return dict(_migrated_default_policy)


@pytest.fixture(scope="session")
def app():
    app = create_app("testing")
    with app.app_context():
        _reset_schema()
    return app


@pytest.fixture(autouse=True)
def _isolated(app):
    ctx = app.app_context()
    ctx.push()
    limiter.reset()
    ticket_dumps.cache().clear()  # ids start again at 1 in every test
    pagination.queries().clear()  # so that a test sees its own statements built
    yield
    clock.freeze(None)
    _truncate()
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


MAIL_SETTINGS = (
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_RETRY_SCHEDULE",
    "INBOUND_EMAIL_TOKEN",
    "INBOUND_EMAIL_CREATE_REQUESTERS",
)


@pytest.fixture
def mail_config(app):
    """app.config, whose mail settings the test may change: they are put back afterwards (the
    app lives for the whole session)."""
    saved = {name: app.config[name] for name in MAIL_SETTINGS}
    yield app.config
    app.config.update(saved)


@pytest.fixture
def smtp(mail_config):
    """A real SMTP server on 127.0.0.1 (tests/smtp.py), the app's MAIL_SERVER for the test."""
    from tests.smtp import SmtpServer

    server = SmtpServer()
    mail_config.update(server.settings())
    yield server
    server.stop()


@pytest.fixture
def freeze_time():
    """Call with a datetime (or an ISO string) to pin the service's clock."""

    def freeze(moment):
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        clock.freeze(moment.astimezone(UTC))
        return moment

    return freeze


def create_user(role: str = "requester", **fields) -> User:
    count = db.session.query(User).count() + 1
    values = {
        "email": f"{role}{count}@example.com",
        "name": f"{role.title()} {count}",
        "role": role,
        "password_hash": hash_password(fields.pop("password", PASSWORD)),
    }
    values.update(fields)
    user = User(**values)
    db.session.add(user)
    db.session.commit()
    return user


def create_agent(role: str = "agent", **fields) -> Agent:
    user_fields = {k: fields.pop(k) for k in ("email", "name") if k in fields}
    if "is_active_user" in fields:
        user_fields["is_active"] = fields.pop("is_active_user")
    user = create_user(role, **user_fields)
    agent = Agent(user=user, **{"team": "Software", "skills": ["software"], **fields})
    db.session.add(agent)
    db.session.commit()
    return agent


def create_ticket(requester: User, **fields) -> Ticket:
    """A ticket row written straight through the model (no service rules, no activities)."""
    created_at = fields.pop("created_at", clock.now())
    values = {
        "title": "Printer is on fire",
        "description": "Smoke is coming out of the third-floor printer.",
        "requester_id": requester.id,
        "created_at": created_at,
        "updated_at": created_at,
        "response_due_at": created_at + timedelta(hours=4),
        "resolution_due_at": created_at + timedelta(hours=24),
    }
    values.update(fields)
    # 24/7 on the default policy unless given: a quarter of each target left from these on.
    paused = timedelta(seconds=values.get("sla_paused_seconds", 0))
    response = values["response_due_at"] - created_at
    resolution = values["resolution_due_at"] - created_at - paused
    values.setdefault("response_at_risk_at", created_at + response * 3 / 4 + MICROSECOND)
    values.setdefault(
        "resolution_at_risk_at", created_at + resolution * 3 / 4 + paused + MICROSECOND
    )
    values.setdefault("sla_policy_id", ticket_sla.default_policy().id)
    ticket = Ticket(**values)
    db.session.add(ticket)
    db.session.commit()
    return ticket


def headers_for(user: User) -> dict:
    access_token = tokens.issue_tokens(user)["access_token"]
    db.session.commit()  # the login session the token belongs to
    return {"Authorization": "Bearer " + access_token}


@pytest.fixture
def make_user():
    return create_user


@pytest.fixture
def make_agent():
    return create_agent


@pytest.fixture
def make_ticket():
    return create_ticket


@pytest.fixture
def auth():
    return headers_for


@pytest.fixture
def admin():
    return create_user("admin")


@pytest.fixture
def manager():
    return create_user("manager")


@pytest.fixture
def agent():
    return create_agent("agent")


@pytest.fixture
def requester():
    return create_user("requester")
