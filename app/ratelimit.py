"""Keys for Flask-Limiter: per user on the API, per client address and e-mail on login."""

from flask import request
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from app.access_token import user_id_if_valid


def rate_limit_key() -> str:
    """The authenticated user's id when a valid access token is sent, else the client address.

    The token is verified here, session and all, once for the view too, so that a forged or
    revoked token cannot spend a user's limit.
    """
    user_id = user_id_if_valid()
    return f"user:{user_id}" if user_id else "addr:" + get_remote_address()


def login_rate_limit_key() -> str:
    return f"login:{get_remote_address()}:{_login_email()}"


def login_address_key() -> str:
    return f"login-address:{get_remote_address()}"


def login_account_key() -> str:
    return f"login-account:{_login_email()}"


def _login_email() -> str:
    try:
        body = request.get_json(silent=True)
    except (HTTPException, RecursionError):
        # A body over MAX_CONTENT_LENGTH raises 413 on reading. Raised here, Flask-Limiter would
        # take it for a storage failure and switch to a fresh in-memory storage, forgetting the
        # attempts counted so far; the view answers 413 anyway.
        body = None
    email = body.get("email") if isinstance(body, dict) else None
    return email.strip().lower() if isinstance(email, str) else ""
