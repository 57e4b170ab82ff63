"""The application factory."""

import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.converters import IdConverter, id_parameter_schema
from app.errors import register_error_handlers
from app.extensions import api, cors, db, jwt, limiter, migrate
from app.json_provider import OrjsonProvider
from app.response_headers import register_response_headers
from config import configs, insecure_secret_message


def create_app(config_name: str | None = None) -> Flask:
    config_name = config_name or os.environ.get("FLASK_ENV") or "development"
    app = Flask(__name__, instance_relative_config=True)
    app.json = OrjsonProvider(app)
    app.config.from_object(configs[config_name])
    _refuse_default_secret_in_production(app, config_name)
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)

    from app import models  # noqa: F401  (registers the tables)
    from app.services import events, sessions  # noqa: F401  (register the outbox, sessions)

    db.init_app(app)
    from app.tasks import huey  # registers the tasks

    huey.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_as_batch=True,
    )
    jwt.init_app(app)
    register_response_headers(app)  # before the limiter and CORS: see its docstring
    limiter.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-Match",
            "Idempotency-Key",
            "Last-Event-ID",
        ],
        expose_headers=[
            "ETag",
            "Location",
            "Retry-After",
            "X-Request-ID",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Idempotent-Replayed",
        ],
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    )
    app.url_map.converters["int"] = IdConverter
    api.init_app(app)
    api.register_converter(IdConverter, id_parameter_schema)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    # Not a second bearer scheme: clients would take it for the login's. The mail server
    # sends `Authorization: Bearer <INBOUND_EMAIL_TOKEN>`.
    api.spec.components.security_scheme(
        "inboundEmailToken",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Bearer <INBOUND_EMAIL_TOKEN>` (POST /api/inbound/email only).",
        },
    )

    from app.auth import register_jwt_callbacks
    from app.cli import register_cli
    from app.db_events import register_db_events
    from app.metrics import register_metrics
    from app.request_log import register_request_log
    from app.routes import register_blueprints
    from app.security import register_security_headers
    from app.services import pagination, ticket_dumps

    register_jwt_callbacks(jwt)
    register_blueprints(app, api)
    register_error_handlers(app)
    register_security_headers(app)
    register_request_log(app)
    register_metrics(app)
    register_cli(app)
    register_db_events(app)
    ticket_dumps.init_app(app)
    pagination.init_app(app)
    return app


def _refuse_default_secret_in_production(app: Flask, config_name: str) -> None:
    message = insecure_secret_message(config_name, app.config.get("JWT_SECRET_KEY"))
    if message:
        raise SystemExit(message)


def __getattr__(name: str):
    """`gunicorn app:app` and `flask --app app` import this package (it shadows app.py), so
    the WSGI object is made here on first access (PEP 562)."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
