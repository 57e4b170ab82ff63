"""Agent profiles: list, create (for an existing or a new user), update, delete."""

from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.orm import contains_eager

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.models.ticket import OPEN_STATUSES, Ticket
from app.models.user import Agent, User
from app.services import pagination, users

SORT_COLUMNS = {"name": func.lower(User.name), "team": Agent.team}


def attach_open_ticket_counts(agents: list[Agent]) -> list[Agent]:
    """Set `open_tickets` on each agent with one grouped count."""
    ids = [agent.id for agent in agents]
    counts = {}
    if ids:
        counts = dict(
            db.session.execute(
                select(Ticket.assigned_agent_id, func.count())
                .where(Ticket.assigned_agent_id.in_(ids), Ticket.status.in_(OPEN_STATUSES))
                .group_by(Ticket.assigned_agent_id)
            ).all()
        )
    for agent in agents:
        agent.open_tickets = counts.get(agent.id, 0)
    return agents


def list_agents(args: dict) -> dict:
    stmt = select(Agent).join(Agent.user)
    if args.get("team"):
        stmt = stmt.where(func.lower(Agent.team) == args["team"].lower())
    if args.get("availability"):
        stmt = stmt.where(Agent.availability.in_(args["availability"]))
    if args.get("skill"):
        # Skills are category names, so a quoted match on the JSON text is exact on both databases.
        stmt = stmt.where(cast(Agent.skills, String).like(f'%"{args["skill"]}"%'))
    if "is_active" in args:
        stmt = stmt.where(Agent.is_active == args["is_active"])
    order = pagination.sort_order(args.get("sort"), SORT_COLUMNS, Agent.id, nullable=("team",))
    page = pagination.paginate(
        stmt, order, args, list_name="agents", options=[contains_eager(Agent.user)]
    )
    attach_open_ticket_counts(page["items"])
    return page


def create_agent(data: dict) -> Agent:
    if "user_id" in data:
        user = db.session.get(User, data.pop("user_id"))
        if user is None:
            raise ValidationFailed("Unknown user.", errors={"user_id": ["No such user."]})
        if user.role == "admin":
            raise ValidationFailed(
                "An admin cannot have an agent profile.", errors={"user_id": ["User is an admin."]}
            )
        if db.session.scalar(select(exists().where(Agent.user_id == user.id))):
            raise Conflict(f"User {user.id} already has an agent profile.")
        if user.role == "requester":
            user.role = "agent"
    else:
        user = users.create_user(
            {
                "name": data.pop("name"),
                "email": data.pop("email"),
                "password": data.pop("password"),
                "role": "agent",
            }
        )
    agent = Agent(user=user, **data)
    db.session.add(agent)
    db.session.flush()
    return attach_open_ticket_counts([agent])[0]


def update_agent(agent: Agent, data: dict) -> Agent:
    for name, value in data.items():
        setattr(agent, name, value)
    db.session.flush()
    return attach_open_ticket_counts([agent])[0]


def delete_agent(agent: Agent) -> None:
    if db.session.scalar(select(exists().where(Ticket.assigned_agent_id == agent.id))):
        raise Conflict("Tickets reference this agent; deactivate it (is_active: false) instead.")
    db.session.delete(agent)
    db.session.flush()
