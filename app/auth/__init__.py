"""Authentication: JWT callbacks, tokens, guards and the /api/auth routes."""

from flask import g
from flask_jwt_extended import JWTManager

from app.errors import problem_response
from app.extensions import db
from app.models.user import User


def _unauthorized(detail: str):
    return problem_response(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def register_jwt_callbacks(jwt: JWTManager) -> None:
    from app.auth.tokens import is_revoked_loading_user

    @jwt.user_lookup_loader
    def load_user(_header, claims):
        user = g.pop("token_user", None) or db.session.get(User, int(claims["sub"]))
        if user is None or not user.is_active:
            return None
        g.user_id = user.id  # for the request log
        return user

    @jwt.token_in_blocklist_loader
    def token_revoked(_header, claims) -> bool:
        return is_revoked_loading_user(claims)

    jwt.unauthorized_loader(lambda reason: _unauthorized("Missing bearer token."))
    jwt.invalid_token_loader(lambda reason: _unauthorized("Invalid token: " + reason))
    jwt.expired_token_loader(lambda _h, _c: _unauthorized("The token has expired."))
    jwt.revoked_token_loader(lambda _h, _c: _unauthorized("The token has been revoked."))
    jwt.user_lookup_error_loader(
        lambda _h, _c: _unauthorized("The token's user does not exist or is deactivated.")
    )
    jwt.token_verification_failed_loader(lambda _h, _c: _unauthorized("The token was refused."))
