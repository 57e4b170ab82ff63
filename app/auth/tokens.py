"""Issuing and revoking JWTs. Revocations live in the database so they hold across workers."""

from datetime import UTC, datetime

from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token, get_jti
from sqlalchemy import bindparam, exists, select

from app.extensions import db
from app.models.auth import RevokedToken
from app.models.user import User


def issue_tokens(user: User) -> dict:
    refresh_token = create_refresh_token(identity=str(user.id))
    return {
        "access_token": _access_token(user, get_jti(refresh_token)),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": _access_lifetime(),
    }


def refresh_access(user: User, refresh_jti: str) -> dict:
    return {"access_token": _access_token(user, refresh_jti), "expires_in": _access_lifetime()}


def _access_token(user: User, refresh_jti: str) -> str:
    # The refresh token's id rides along so that logging out with the access token revokes both.
    return create_access_token(identity=str(user.id), additional_claims={"rjti": refresh_jti})


def _access_lifetime() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def revoke(claims: dict, refresh_token: str | None = None) -> None:
    """Revoke the presented token, its linked refresh token and an explicitly sent one."""
    user_id = int(claims["sub"])
    refresh_expiry = datetime.now(UTC) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    to_revoke = {claims["jti"]: datetime.fromtimestamp(claims["exp"], UTC)}
    if claims.get("rjti"):
        to_revoke.setdefault(claims["rjti"], refresh_expiry)
    if refresh_token:
        try:
            refresh_claims = decode_token(refresh_token)
        except Exception:
            refresh_claims = None
        if refresh_claims and refresh_claims.get("sub") == claims["sub"]:
            to_revoke.setdefault(
                refresh_claims["jti"], datetime.fromtimestamp(refresh_claims["exp"], UTC)
            )
    known = set(db.session.scalars(select(RevokedToken.jti).where(RevokedToken.jti.in_(to_revoke))))
    for jti, expires_at in to_revoke.items():
        if jti not in known:
            db.session.add(RevokedToken(jti=jti, user_id=user_id, expires_at=expires_at))


def is_revoked(jti: str) -> bool:
    return db.session.get(RevokedToken, jti) is not None


# Built once: every authenticated request runs it.
TOKEN_USER = select(User, exists().where(RevokedToken.jti == bindparam("jti"))).where(
    User.id == bindparam("user_id")
)


def is_revoked_loading_user(claims: dict) -> bool:
    """Whether the token is revoked, asked in the same query that loads its user, which is
    kept in `g.token_user` for the user lookup that follows (one round trip instead of two)."""
    params = {"jti": claims["jti"], "user_id": int(claims["sub"])}
    row = db.session.execute(TOKEN_USER, params).first()
    if row is None:
        return is_revoked(claims["jti"])
    g.token_user = row[0]
    return row[1]


def issue_stream_token(user: User, access_claims: dict) -> dict:
    """A token good only for opening event streams, for clients that cannot send headers.

    It lives no longer than the access token it was made from, and logging that access token
    out ends the streams opened with it.
    """
    lifetime = datetime.fromtimestamp(access_claims["exp"], UTC) - datetime.now(UTC)
    token = create_access_token(
        identity=str(user.id),
        expires_delta=lifetime,
        additional_claims={"scope": "stream", "ajti": access_claims["jti"]},
    )
    return {"token": token, "expires_in": max(0, int(lifetime.total_seconds()))}


def verify_stream_token(token: str) -> tuple[User, dict]:
    """The user and claims of a stream token; 401 when it is not a valid, live stream token."""
    from app.errors import Unauthorized

    claims = decode_token(token)  # signature and expiry; errors become 401
    if claims.get("type") != "access" or claims.get("scope") != "stream":
        raise Unauthorized("Not a stream token.")
    if is_revoked(claims["jti"]) or is_revoked(claims.get("ajti", "")):
        raise Unauthorized("The token has been revoked.")
    user = db.session.get(User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise Unauthorized("The token's user does not exist or is deactivated.")
    return user, claims
