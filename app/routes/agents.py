"""/api/agents."""

from flask import url_for
from flask.views import MethodView

from app.auth.guards import ETAG_HEADER, LOCATION_HEADER, MANAGERS, STAFF, Blueprint, me
from app.extensions import db
from app.routes.etag import check_if_match, etag_header
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
_dump = AgentSchema().dump


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
    @blp.response(200, AgentSchema, headers=ETAG_HEADER)
    @blp.alt_response(404, description="Not found or not visible")
    def get(self, agent_id):
        """Get an agent (staff)."""
        agent = service.attach_open_ticket_counts([permissions.get_visible_agent(me(), agent_id)])[
            0
        ]
        return agent, 200, etag_header(_dump(agent))

    @blp.login_required()
    @blp.arguments(AgentUpdateSchema)
    @blp.response(200, AgentSchema, headers=ETAG_HEADER)
    @blp.alt_response(404, description="Not found or not visible")
    @blp.if_match
    def put(self, data, agent_id):
        """Update an agent (admin, manager; an agent its own availability)."""
        caller = me()
        agent = permissions.get_visible_agent(caller, agent_id)
        permissions.check_agent_update(caller, agent, set(data))
        check_if_match(_dump(service.attach_open_ticket_counts([agent])[0]))
        service.update_agent(agent, data)
        db.session.commit()
        return agent, 200, etag_header(_dump(agent))

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
