"""The project Blueprint: one way to require a login and a role, documented in OpenAPI."""

import json
from functools import wraps

import flask_smorest
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request
from webargs.flaskparser import FlaskParser

from app.errors import NotFound, PermissionDenied, Unauthorized
from app.models.user import User

STAFF = ("admin", "manager", "agent")
MANAGERS = ("admin", "manager")


class ArgumentsParser(FlaskParser):
    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except ValueError as error:
            # Python refuses to read an integer of over 4,300 digits (a guard against slow
            # parsing) with a plain ValueError: a malformed body, 400 like any other.
            raise json.JSONDecodeError("Number too long", "<body>", 0) from error


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, but a schema class is instantiated once, not on every request."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def login_required(self, *roles: str, hidden_from: tuple[str, ...] = ()):
        """Require a valid access token, and one of `roles` when given (403 otherwise).

        Users whose role is in `hidden_from` get 404, as for anything they may not see.
        """

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                verify_jwt_in_request()
                if get_jwt().get("scope") == "stream":
                    raise Unauthorized("A stream token only opens event streams.")
                if current_user.role in hidden_from:
                    raise NotFound("The requested URL was not found on the server.")
                if roles and current_user.role not in roles:
                    raise PermissionDenied("Your role may not use this endpoint.")
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}])(wrapper)
            wrapper = self.alt_response(401, description="Missing, invalid or revoked token")(
                wrapper
            )
            if roles:
                wrapper = self.alt_response(403, description="Not allowed for your role")(wrapper)
            if hidden_from:
                wrapper = self.alt_response(404, description="Not found or not visible")(wrapper)
            return wrapper

        return decorator


def me() -> User:
    """The authenticated user of this request."""
    return current_user._get_current_object()
