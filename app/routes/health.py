"""/health: liveness, database reachability, and whether a background worker is beating."""

from flask import current_app
from marshmallow import fields
from sqlalchemy import text

from app.auth.guards import Blueprint
from app.extensions import db, limiter
from app.schemas.common import Schema
from app.services import heartbeats

blp = Blueprint("health", __name__, description="Operations")


class HealthSchema(Schema):
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
        return {**body, "worker": "late"}, 503
    return {"status": "ok", "database": "ok", "version": version, "worker": worker}
