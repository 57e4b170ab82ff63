"""Keys for Flask-Limiter: per user on the API, per client address and e-mail on login."""

import time
from functools import lru_cache

from flask import current_app, request
from flask_jwt_extended import decode_token
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException


def rate_limit_key() -> str:
    """The authenticated user's id when a valid access token is sent, else the client address."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            secret = current_app.config.get("JWT_SECRET_KEY")
            subject, expires = _verified_subject(header[7:], secret)
        except Exception:  # an invalid token is rejected later; limit it by address
            pass
        else:
            if expires > time.time():
                return "user:" + subject
    return "addr:" + get_remote_address()


@lru_cache(maxsize=4096)
def _verified_subject(token: str, secret: str) -> tuple[str, float]:
    """The subject and expiry of a token whose signature checks out.

    A client sends the same token on every request, and the view decodes it again anyway:
    the signature is checked once per token and the expiry on every use. The secret is part of
    the key so that a token is never trusted under another key. Failures are not cached.
    """
    claims = decode_token(token)
    return str(claims["sub"]), float(claims["exp"])


def login_rate_limit_key() -> str:
    try:
        body = request.get_json(silent=True)
    except (HTTPException, RecursionError):
        # A body over MAX_CONTENT_LENGTH raises 413 on reading. Raised here, Flask-Limiter would
        # take it for a storage failure and switch to a fresh in-memory storage, forgetting the
        # attempts counted so far; the view answers 413 anyway.
        body = None
    email = body.get("email") if isinstance(body, dict) else None
    email = email.strip().lower() if isinstance(email, str) else ""
    return f"login:{get_remote_address()}:{email}"
