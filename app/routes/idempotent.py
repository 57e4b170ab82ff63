"""The `idempotent` decorator for create endpoints that honour Idempotency-Key."""

from functools import wraps

import flask_smorest
from flask import current_app, request

from app.auth.guards import me
from app.extensions import db
from app.services import idempotency

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "The same key from the same user within 24 hours replays the first "
    "response without creating anything; the same key with another body gets 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def idempotent(endpoint: str):
    """Commit the view's transaction together with its stored response, or replay that response.

    Goes between `login_required` and flask-smorest's decorators; the view itself must not
    commit. Two racing requests with one key: the unique index lets one commit, and the other
    rolls back everything it did and replays the winner's response. Documents the
    Idempotency-Key header and the Idempotent-Replayed header of the view's success responses.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get("Idempotency-Key")
            if key is None:
                response = view(*args, **kwargs)
                db.session.commit()
                return response
            idempotency.validate_key(key)
            user_id = me().id
            fingerprint = idempotency.request_fingerprint(request.get_json(silent=True))
            stored = idempotency.find(user_id, key, endpoint, fingerprint)
            if stored is not None:
                return _replay(stored)
            response = view(*args, **kwargs)
            if response.status_code >= 300:
                db.session.rollback()
                return response
            won = idempotency.remember(
                user_id,
                key,
                endpoint,
                fingerprint,
                response.status_code,
                response.get_data(as_text=True),
                response.headers.get("Location"),
            )
            if not won:
                return _replay(idempotency.find(user_id, key, endpoint, fingerprint))
            db.session.commit()
            return response

        successes = getattr(view, "_apidoc", {}).get("success_status_codes", [])
        return flask_smorest.Blueprint.doc(
            parameters=[IDEMPOTENCY_KEY_PARAMETER],
            responses={status: {"headers": REPLAYED_HEADER} for status in successes},
        )(wrapper)

    return decorator


def _replay(stored):
    response = current_app.response_class(
        stored.response_body, status=stored.status_code, mimetype="application/json"
    )
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response
