"""Reports: SLA adherence, aging and volume of tickets, and agent performance (staff only)."""

from flask.views import MethodView

from app.auth.guards import STAFF, Blueprint, me
from app.schemas.analytics import (
    AgentPerformanceQuerySchema,
    AgentPerformanceSchema,
    AgingQuerySchema,
    AgingSchema,
    SlaAdherenceQuerySchema,
    SlaAdherenceSchema,
    VolumeQuerySchema,
    VolumeSchema,
)
from app.services import analytics as service

blp = Blueprint("analytics", __name__, url_prefix="/api", description="Reports (staff)")


@blp.route("/tickets/analytics/sla-adherence")
class SlaAdherence(MethodView):
    @blp.login_required(*STAFF)
    @blp.arguments(SlaAdherenceQuerySchema, location="query")
    @blp.response(200, SlaAdherenceSchema)
    def get(self, args):
        """SLA adherence of the tickets created in a window, overall and by group."""
        return service.sla_adherence(args)


@blp.route("/tickets/analytics/aging")
class Aging(MethodView):
    @blp.login_required(*STAFF)
    @blp.arguments(AgingQuerySchema, location="query")
    @blp.response(200, AgingSchema)
    def get(self, args):
        """Open tickets by age bucket, with the oldest five; takes the ticket list filters."""
        return service.aging(me(), args)


@blp.route("/tickets/analytics/volume")
class Volume(MethodView):
    @blp.login_required(*STAFF)
    @blp.arguments(VolumeQuerySchema, location="query")
    @blp.response(200, VolumeSchema)
    def get(self, args):
        """Tickets created, resolved and in the backlog per UTC day or ISO week."""
        return service.volume(args)


@blp.route("/agents/performance")
class AgentPerformance(MethodView):
    @blp.login_required(*STAFF)
    @blp.arguments(AgentPerformanceQuerySchema, location="query")
    @blp.response(200, AgentPerformanceSchema)
    def get(self, args):
        """Per-agent workload and SLA results (managers and admins: all; an agent: its own)."""
        return service.agent_performance(me(), args)
