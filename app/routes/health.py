"""/health: liveness and database reachability."""

from flask import current_app
from marshmallow import fields
from sqlalchemy import text

from app.auth.guards import Blueprint
from app.extensions import db, limiter
from app.schemas.common import Schema

blp = Blueprint("health", __name__, description="Operations")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    version = fields.String()


@blp.route("/health")
@limiter.exempt
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
def health():
    """Report whether the service and its database are up."""
    version = current_app.config["API_VERSION"]
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        current_app.logger.warning("Health check: database unreachable")
        return {"status": "degraded", "database": "unavailable", "version": version}, 503
    return {"status": "ok", "database": "ok", "version": version}
