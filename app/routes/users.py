"""/api/users."""

from flask import url_for
from flask.views import MethodView
from flask_jwt_extended import get_jwt

from app.auth.guards import LOCATION_HEADER, STAFF, Blueprint, me
from app.extensions import db
from app.schemas.user import (
    UserCreateSchema,
    UserPageSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from app.services import permissions
from app.services import users as service

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users")


def _visible_user(user_id: int):
    return permissions.get_visible_user(me(), user_id)


@blp.route("")
class Users(MethodView):
    @blp.login_required(*STAFF)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List users (staff)."""
        return service.list_users(args)

    @blp.login_required("admin")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema, headers=LOCATION_HEADER)
    @blp.alt_response(409, description="E-mail taken")
    def post(self, data):
        """Create a user (admin)."""
        user = service.create_user(data)
        db.session.commit()
        return user, 201, {"Location": url_for("users.User", user_id=user.id)}


@blp.route("/<int:user_id>")
class User(MethodView):
    @blp.login_required()
    @blp.versioned(UserSchema)
    @blp.alt_response(404, description="Not found or not visible")
    def get(self, user_id):
        """Get a user (staff: any; requester: themself)."""
        return _visible_user(user_id)

    @blp.login_required()
    @blp.arguments(UserUpdateSchema)
    @blp.versioned(UserSchema, load=_visible_user)
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="E-mail taken")
    def put(self, data, user_id):
        """Update a user (admin: any field; oneself: name, department, phone, password,
        email_notifications)."""
        caller = me()
        user = _visible_user(user_id)
        permissions.check_user_update(caller, user, set(data))
        own_session = get_jwt()["sid"] if user.id == caller.id else None
        service.update_user(user, data, keep_session_id=own_session)
        db.session.commit()
        return user

    patch = put  # PUT and PATCH both take partial bodies

    @blp.login_required()
    @blp.response(204)
    @blp.alt_response(404, description="Not found or not visible")
    @blp.alt_response(409, description="Referenced by history")
    def delete(self, user_id):
        """Delete a user (admin) that nothing references."""
        caller = me()
        user = permissions.get_visible_user(caller, user_id)
        permissions.require(caller.role == "admin", "Only an admin may delete users.")
        service.delete_user(user)
        db.session.commit()
