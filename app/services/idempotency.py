"""Idempotency-Key: the first response to a create is stored and replayed for 24 hours."""

import hashlib
from datetime import timedelta

from flask import current_app, json
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import ValidationFailed
from app.extensions import db
from app.models.auth import IdempotencyKey

MAX_KEY_LENGTH = 255


def request_fingerprint(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def validate_key(key: str) -> None:
    # PostgreSQL text cannot hold U+0000: such a key is refused here rather than failing to store.
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters, without NUL.",
            errors={"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} characters, without NUL."]},
        )


def find(user_id: int, key: str, endpoint: str, fingerprint: str) -> IdempotencyKey | None:
    """The stored response for this key, or None; 422 when the key came with another body."""
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    stored = db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.endpoint == endpoint,
        )
    )
    if stored is None:
        return None
    if stored.created_at < clock.now() - ttl:
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == stored.id))
        return None
    if stored.request_hash != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request body.",
            errors={"Idempotency-Key": ["Reused with a different body."]},
        )
    return stored


def remember(
    user_id: int, key: str, endpoint: str, fingerprint: str, status: int, body: str, location
) -> bool:
    """Store the response in the current transaction; False when a racing request won."""
    db.session.add(
        IdempotencyKey(
            user_id=user_id,
            key=key,
            endpoint=endpoint,
            request_hash=fingerprint,
            status_code=status,
            response_body=body,
            location=location,
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True
