"""Webhook subscriptions: create, change, delete, rotate the secret; the target check."""

import secrets

from flask import current_app
from sqlalchemy import select

from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models.webhook import Webhook
from app.services import pagination, webhook_targets


def new_secret() -> str:
    return secrets.token_hex(32)


def list_webhooks(args: dict) -> dict:
    order = pagination.Order(((Webhook.id, False),))
    return pagination.paginate(select(Webhook), order, args, list_name="webhooks")


def get_webhook(webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return webhook


def check_target(url: str) -> webhook_targets.Target:
    """The URL's target, or 422 naming `url` when it may not be one (see webhook_targets)."""
    try:
        return webhook_targets.check(url, current_app.config["WEBHOOK_ALLOWED_HOSTS"])
    except webhook_targets.UnsafeTarget as error:
        raise ValidationFailed(
            f"The webhook URL is not allowed: {error}", {"url": [str(error)]}
        ) from error


def create_webhook(data: dict) -> Webhook:
    check_target(data["url"])
    webhook = Webhook(**{**data, "secret": data.get("secret") or new_secret()})
    db.session.add(webhook)
    db.session.flush()
    return webhook


def update_webhook(webhook: Webhook, data: dict) -> Webhook:
    if "url" in data and data["url"] != webhook.url:
        check_target(data["url"])
    for name, value in data.items():
        setattr(webhook, name, value)
    db.session.flush()
    return webhook


def delete_webhook(webhook: Webhook) -> None:
    """Its deliveries go with it (pending ones are never attempted)."""
    db.session.delete(webhook)
    db.session.flush()


def rotate_secret(webhook: Webhook) -> Webhook:
    webhook.secret = new_secret()
    db.session.flush()
    return webhook
