"""/health: liveness, database reachability, and whether a background worker is beating."""

from flask import Response, current_app
from marshmallow import fields
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app import metrics as app_metrics
from app.auth.guards import Blueprint
from app.extensions import db, limiter
from app.schemas.common import ResponseSchema
from app.services import heartbeats

blp = Blueprint("health", __name__, description="Operations", rate_limited=False)
HEALTH_RETRY_SECONDS = 10


class HealthSchema(ResponseSchema):
    status = fields.String()
    database = fields.String()
    version = fields.String()
    worker = fields.String(
        metadata={"description": "ok: a worker's heartbeat is recent; late: none is."}
    )


@blp.route("/health")
@limiter.exempt
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
def health():
    """Report whether the service and its database are up, and the worker's heartbeat (a late
    worker does not make the API unhealthy)."""
    config = current_app.config
    version = config["API_VERSION"]
    try:
        db.session.execute(text("SELECT 1"))
        worker = heartbeats.worker_status(config["WORKER_HEARTBEAT_SECONDS"])
    except Exception:
        db.session.rollback()
        current_app.logger.warning("Health check: database unreachable")
        body = {"status": "degraded", "database": "unavailable", "version": version}
        return {**body, "worker": "late"}, 503, {"Retry-After": str(HEALTH_RETRY_SECONDS)}
    return {"status": "ok", "database": "ok", "version": version, "worker": worker}


@blp.route("/metrics")
@limiter.exempt
@blp.doc(
    responses={
        "200": {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
)
@blp.alt_response(401, description="METRICS_TOKEN is set and was not sent as a bearer token")
@blp.alt_response(403, description="No METRICS_TOKEN is set and the client is not on loopback")
def metrics():
    """Prometheus metrics: requests by route, method and status, request durations, open event
    streams, jobs waiting in the task queue, webhook deliveries by status."""
    app_metrics.check_caller()
    return Response(app_metrics.scrape(), content_type=CONTENT_TYPE_LATEST)
