"""Keys for Flask-Limiter: per user on the API, per client address and e-mail on login."""

from flask import request
from flask_jwt_extended import decode_token
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException


def rate_limit_key() -> str:
    """The authenticated user's id when a valid access token is sent, else the client address.

    The token is verified here as the view will verify it, so that a forged token cannot spend
    a user's limit.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            return "user:" + str(decode_token(header[7:])["sub"])
        except Exception:  # an invalid or expired token is rejected later; limit its address
            pass
    return "addr:" + get_remote_address()


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
