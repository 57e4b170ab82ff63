"""The sample data of README: four users of different roles, five agents, three tickets."""

from sqlalchemy import select

from app.extensions import db
from app.models.ticket import Ticket
from app.models.user import Agent, User
from app.services.passwords import hash_password

SAMPLE_USERS = (
    ("admin@example.com", "Ada Admin", "admin", "IT", "admin123!"),
    ("manager@example.com", "Max Manager", "manager", "IT", "manager123!"),
    ("agent@example.com", "Alice Agent", "agent", "IT", "agent123!"),
    ("requester@example.com", "Rita Requester", "requester", "Finance", "requester123!"),
    ("bob.agent@example.com", "Bob Network", "agent", "IT", "agent123!"),
    ("carol.agent@example.com", "Carol Hardware", "agent", "IT", "agent123!"),
    ("dan.agent@example.com", "Dan Access", "agent", "IT", "agent123!"),
)

SAMPLE_AGENTS = (
    ("manager@example.com", "Software", ["software", "other"], "available"),
    ("agent@example.com", "Software", ["software", "access"], "available"),
    ("bob.agent@example.com", "Network", ["network"], "busy"),
    ("carol.agent@example.com", "Hardware", ["hardware"], "available"),
    ("dan.agent@example.com", "Access", ["access"], "away"),
)


def load_sample_data() -> None:
    users = {user.email: user for user in db.session.scalars(select(User))}
    for email, name, role, department, password in SAMPLE_USERS:
        if email not in users:
            users[email] = User(
                email=email,
                name=name,
                role=role,
                department=department,
                password_hash=hash_password(password),
            )
            db.session.add(users[email])
    db.session.flush()
    agents = {agent.user_id: agent for agent in db.session.scalars(select(Agent))}
    for email, team, skills, availability in SAMPLE_AGENTS:
        user = users[email]
        if user.id not in agents:
            agents[user.id] = Agent(user=user, team=team, skills=skills, availability=availability)
            db.session.add(agents[user.id])
    db.session.flush()
    if db.session.scalar(select(Ticket.id).limit(1)) is None:
        from app.services.sample_tickets import create_sample_tickets

        create_sample_tickets(users, agents)
    db.session.commit()
