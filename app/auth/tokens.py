"""Issuing JWTs, checking them against their session, and logging out.

Every token carries the id of the login session it belongs to (`sid`, app/services/sessions.py):
the refresh token, each access token made from it, and each stream token made from those.
"""

from datetime import UTC, datetime

from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token

from app.errors import Unauthorized
from app.models.user import User
from app.services import sessions


def issue_tokens(user: User) -> dict:
    """Start a session for `user` and return its first tokens; the caller commits."""
    session_id = sessions.start(user).id
    return {
        "access_token": _access_token(user, session_id),
        "refresh_token": create_refresh_token(
            identity=str(user.id), additional_claims={"sid": session_id}
        ),
        "token_type": "Bearer",
        "expires_in": _access_lifetime(),
    }


def refresh_access(user: User, refresh_claims: dict) -> dict:
    return {
        "access_token": _access_token(user, refresh_claims["sid"]),
        "expires_in": _access_lifetime(),
    }


def _access_token(user: User, session_id: str) -> str:
    return create_access_token(identity=str(user.id), additional_claims={"sid": session_id})


def _access_lifetime() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def logout(claims: dict, refresh_token: str | None = None) -> None:
    """End the session of the presented token, and that of a refresh token sent along (when it
    is the same user's): every token of those sessions, and their streams, stop working."""
    user_id = int(claims["sub"])
    sessions.end(claims["sid"], user_id)
    if refresh_token:
        try:
            other = decode_token(refresh_token)
        except Exception:  # an invalid or expired token has nothing left to end
            return
        if other.get("sub") == claims["sub"] and other.get("sid") not in (None, claims["sid"]):
            sessions.end(other["sid"], user_id)


def is_revoked_loading_user(claims: dict) -> bool:
    """Whether the token's session has ended (or its user is gone), asked in the query that
    loads its user, which is kept in `g.token_user` for the user lookup that follows."""
    user = sessions.live_user(int(claims["sub"]), claims.get("sid"))
    if user is None:
        return True
    g.token_user = user
    return False


def issue_stream_token(user: User, access_claims: dict) -> dict:
    """A token good only for opening event streams, for clients that cannot send headers.

    It lives no longer than the access token it was made from, and belongs to its session.
    """
    lifetime = datetime.fromtimestamp(access_claims["exp"], UTC) - datetime.now(UTC)
    token = create_access_token(
        identity=str(user.id),
        expires_delta=lifetime,
        additional_claims={"scope": "stream", "sid": access_claims["sid"]},
    )
    return {"token": token, "expires_in": max(0, int(lifetime.total_seconds()))}


def verify_stream_token(token: str) -> tuple[User, dict]:
    """The user and claims of a stream token; 401 when it is not a valid, live stream token."""
    claims = decode_token(token)  # signature and expiry; errors become 401
    if claims.get("type") != "access" or claims.get("scope") != "stream":
        raise Unauthorized("Not a stream token.")
    user = sessions.live_user(int(claims["sub"]), claims.get("sid"))
    if user is None:
        raise Unauthorized("The token has been revoked.")
    if not user.is_active:
        raise Unauthorized("The token's user does not exist or is deactivated.")
    return user, claims
