"""/api/auth: login, refresh, logout, me."""

from flask import current_app
from flask_jwt_extended import get_jwt, jwt_required

from app.auth import tokens
from app.auth.guards import Blueprint, me
from app.errors import Unauthorized
from app.extensions import db, limiter
from app.ratelimit import login_account_key, login_address_key, login_rate_limit_key
from app.schemas.agent import MeSchema
from app.schemas.auth import LoginSchema, LogoutSchema, RefreshedSchema, TokenSchema
from app.services import agents as agent_service
from app.services import users as user_service

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Authentication")


@blp.route("/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], key_func=login_rate_limit_key)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_PER_ADDRESS"], key_func=login_address_key
)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_PER_ACCOUNT"], key_func=login_account_key
)
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, description="Wrong e-mail or password")
@blp.alt_response(429, description="Too many attempts")
def login(credentials):
    """Exchange an e-mail and password for tokens."""
    user = user_service.authenticate(credentials["email"], credentials["password"])
    if user is None:
        raise Unauthorized("Wrong e-mail or password.")
    agent_service.attach_open_ticket_counts([user.agent] if user.agent else [])
    issued = tokens.issue_tokens(user)
    db.session.commit()
    return {**issued, "user": user}


@blp.route("/refresh", methods=["POST"])
@jwt_required(refresh=True)
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, RefreshedSchema)
@blp.alt_response(401, description="Not a valid refresh token")
def refresh():
    """Exchange a refresh token (as Bearer) for a new access token."""
    return tokens.refresh_access(me(), get_jwt())


@blp.route("/logout", methods=["POST"])
@jwt_required(verify_type=False)
@blp.doc(security=[{"bearerAuth": []}])
@blp.alt_response(401, description="Missing, invalid or revoked token")
@blp.arguments(LogoutSchema, required=False)
@blp.response(204)
def logout(body):
    """End the session of the presented token (all its tokens and streams), and the session of
    a refresh token sent in the body."""
    tokens.logout(get_jwt(), (body or {}).get("refresh_token"))
    db.session.commit()


@blp.route("/me", methods=["GET"])
@blp.login_required()
@blp.response(200, MeSchema)
def current():
    """The current user, with their agent profile if any."""
    user = me()
    agent_service.attach_open_ticket_counts([user.agent] if user.agent else [])
    return user
