"""Blueprint registration: one tuple of route modules, registered in a loop."""

from flask import Flask

from app.auth import routes as auth
from app.routes import (
    agents,
    analytics,
    docs,
    events,
    export,
    health,
    inbound,
    messages,
    sla,
    tickets,
    users,
    webhooks,
)

MODULES = (
    health,
    auth,
    users,
    analytics,
    agents,
    tickets,
    messages,
    events,
    webhooks,
    sla,
    inbound,
    export,
)


def register_blueprints(app: Flask, api) -> None:
    for module in MODULES:
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.blp)  # a page, not an API operation: kept out of the spec
