"""/api/webhooks (admin): subscriptions, their delivery log, redeliver and ping."""

from flask import url_for
from flask.views import MethodView

from app.auth.guards import LOCATION_HEADER, Blueprint
from app.extensions import db
from app.schemas.webhook import (
    DeliveryPageSchema,
    DeliverySchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookQuerySchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWithSecretSchema,
)
from app.services import deliveries
from app.services import webhooks as service
from app.tasks import webhooks as tasks

blp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks", description="Webhooks")


@blp.route("")
class Webhooks(MethodView):
    @blp.login_required("admin")
    @blp.arguments(WebhookQuerySchema, location="query")
    @blp.response(200, WebhookPageSchema)
    def get(self, args):
        """List webhooks (admin)."""
        return service.list_webhooks(args)

    @blp.login_required("admin")
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookWithSecretSchema, headers=LOCATION_HEADER)
    def post(self, data):
        """Create a webhook (admin); the response is the only one that shows its secret."""
        webhook = service.create_webhook(data)
        db.session.commit()
        return webhook, 201, {"Location": url_for("webhooks.Webhook", webhook_id=webhook.id)}


@blp.route("/<int:webhook_id>")
class Webhook(MethodView):
    @blp.login_required("admin")
    @blp.versioned(WebhookSchema)
    @blp.alt_response(404, description="Not found")
    def get(self, webhook_id):
        """Get a webhook (admin)."""
        return service.get_webhook(webhook_id)

    @blp.login_required("admin")
    @blp.arguments(WebhookUpdateSchema)
    @blp.versioned(WebhookSchema, load=service.get_webhook)
    @blp.alt_response(404, description="Not found")
    def put(self, data, webhook_id):
        """Update a webhook (partial; admin)."""
        webhook = service.get_webhook(webhook_id)
        service.update_webhook(webhook, data)
        db.session.commit()
        return webhook

    patch = put  # PUT and PATCH both take partial bodies

    @blp.login_required("admin")
    @blp.response(204)
    @blp.alt_response(404, description="Not found")
    def delete(self, webhook_id):
        """Delete a webhook and its delivery log (admin)."""
        service.delete_webhook(service.get_webhook(webhook_id))
        db.session.commit()


@blp.route("/<int:webhook_id>/rotate-secret", methods=["POST"])
@blp.login_required("admin")
@blp.response(200, WebhookWithSecretSchema)
@blp.alt_response(404, description="Not found")
def rotate_secret(webhook_id):
    """Replace the webhook's secret with a new one, returned in this response only."""
    webhook = service.rotate_secret(service.get_webhook(webhook_id))
    db.session.commit()
    return webhook


@blp.route("/<int:webhook_id>/deliveries")
@blp.login_required("admin")
@blp.arguments(WebhookQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema)
@blp.alt_response(404, description="Not found")
def list_deliveries(args, webhook_id):
    """The webhook's deliveries, newest first."""
    return deliveries.list_deliveries(service.get_webhook(webhook_id), args)


@blp.route("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@blp.login_required("admin")
@blp.response(202, DeliverySchema)
@blp.alt_response(404, description="Not found")
@blp.alt_response(409, description="Being attempted now, or its event is no longer kept")
def redeliver(webhook_id, delivery_id):
    """Start a new round of attempts of a delivery (same delivery id)."""
    delivery = deliveries.get_delivery(service.get_webhook(webhook_id), delivery_id)
    deliveries.redeliver(delivery)
    db.session.commit()
    tasks.deliver_soon(delivery.id)
    return delivery


@blp.route("/<int:webhook_id>/ping", methods=["POST"])
@blp.login_required("admin")
@blp.response(202, DeliverySchema)
@blp.alt_response(404, description="Not found")
def ping(webhook_id):
    """Send a `ping` delivery to the webhook (tried once)."""
    delivery = deliveries.ping(service.get_webhook(webhook_id))
    db.session.commit()
    tasks.deliver_soon(delivery.id)
    return delivery
