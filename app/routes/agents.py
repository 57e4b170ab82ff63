"""/api/agents."""

from flask import url_for
from flask.views import MethodView

from app.auth.guards import LOCATION_HEADER, MANAGERS, STAFF, Blueprint, me
from app.extensions import db
from app.schemas.agent import (
    AgentCreateSchema,
    AgentPageSchema,
    AgentQuerySchema,
    AgentSchema,
    AgentUpdateSchema,
)
from app.services import agents as service
from app.services import permissions

blp = Blueprint("agents", __name__, url_prefix="/api/agents", description="Agents")


def _visible_agent(agent_id: int):
    """The agent with its open ticket count, as its representation shows it."""
    return service.attach_open_ticket_counts([permissions.get_visible_agent(me(), agent_id)])[0]


@blp.route("")
class Agents(MethodView):
    @blp.login_required(*STAFF)
    @blp.arguments(AgentQuerySchema, location="query")
    @blp.response(200, AgentPageSchema)
    def get(self, args):
        """List agents (staff)."""
        return service.list_agents(args)

    @blp.login_required(*MANAGERS)
    @blp.arguments(AgentCreateSchema)
    @blp.response(201, AgentSchema, headers=LOCATION_HEADER)
    @blp.alt_response(409, description="E-mail taken or profile exists")
    def post(self, data):
        """Create an agent profile for an existing user, or with a new user (admin, manager)."""
        agent = service.create_agent(data)
        db.session.commit()
        return agent, 201, {"Location": url_for("agents.Agent", agent_id=agent.id)}


@blp.route("/<int:agent_id>")
class Agent(MethodView):
    @blp.login_required()
    @blp.versioned(AgentSchema)
    @blp.alt_response(404, description="Not found or not visible")
    def get(self, agent_id):
        """Get an agent (staff)."""
        return _visible_agent(agent_id)

    @blp.login_required()
    @blp.arguments(AgentUpdateSchema)
    @blp.versioned(AgentSchema, load=_visible_agent)
    @blp.alt_response(404, description="Not found or not visible")
    def put(self, data, agent_id):
        """Update an agent (admin, manager; an agent its own availability)."""
        caller = me()
        agent = permissions.get_visible_agent(caller, agent_id)
        permissions.check_agent_update(caller, agent, set(data))
        service.update_agent(agent, data)
        db.session.commit()
        return agent

    patch = put  # PUT and PATCH both take partial bodies

    @blp.login_required()
    @blp.response(204)
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="Referenced by tickets")
    def delete(self, agent_id):
        """Delete an agent profile that no ticket references (admin, manager)."""
        caller = me()
        agent = permissions.get_visible_agent(caller, agent_id)
        permissions.require(
            permissions.is_manager(caller), "Only an admin or manager may delete agents."
        )
        service.delete_agent(agent)
        db.session.commit()
