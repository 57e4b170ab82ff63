"""Strong ETags from an object's representation, and If-Match checks."""

import hashlib

from flask import json, request

from app.errors import PreconditionFailed

# Fields that move with the clock rather than with writes; they do not make a new version.
TIME_DERIVED_FIELDS = ("response_breached", "resolution_breached", "sla_status")


def etag_of(representation: dict) -> str:
    stable = {k: v for k, v in representation.items() if k not in TIME_DERIVED_FIELDS}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:32]
    return f'"{digest}"'


def check_if_match(representation: dict) -> None:
    """412 when If-Match is sent and names no current version of the object."""
    if_match = request.headers.get("If-Match")
    if not if_match:
        return
    current = etag_of(representation)
    candidates = {tag.strip() for tag in if_match.split(",")}
    if "*" not in candidates and current not in candidates:
        raise PreconditionFailed("The object has changed since you read it (If-Match failed).")


def etag_header(representation: dict) -> dict:
    return {"ETag": etag_of(representation)}
