"""The project Blueprint: one way to require a login and a role, and to document every error
response with its problem+json body, in OpenAPI."""

import json
from functools import wraps

import flask_smorest
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request
from webargs.flaskparser import FlaskParser

from app.errors import PROBLEM_MIME, NotFound, PermissionDenied, ProblemSchema, Unauthorized
from app.models.user import User

STAFF = ("admin", "manager", "agent")
MANAGERS = ("admin", "manager")
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 0},
}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When the window resets, in Unix seconds.",
        "schema": {"type": "integer"},
    },
}
ETAG_HEADER = {
    "ETag": {
        "description": "The strong version tag of the object; send it back as If-Match.",
        "schema": {"type": "string"},
    }
}
LOCATION_HEADER = {
    "Location": {"description": "The URL of the created object.", "schema": {"type": "string"}}
}
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "ETags of the version you read (or *): any other version gets 412.",
    "schema": {"type": "string"},
}
# Statuses that come with Retry-After (app/response_headers.py keeps it off any other).
RETRY_AFTER_STATUSES = (429, 503)


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
    """flask-smorest's Blueprint whose decorators document what they enforce.

    `rate_limited=False` for a blueprint whose views Flask-Limiter exempts: no 429 and no
    X-RateLimit-* headers in their documentation.
    """

    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(self, *args, rate_limited: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.rate_limited = rate_limited

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, but a schema class is instantiated once, not on every request;
        a JSON body also documents its 400 (not JSON) and 413 (over MAX_CONTENT_LENGTH)."""
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse

        def decorator(func):
            func = self.alt_response(400, description="The body is not valid JSON")(parse(func))
            return self.alt_response(413, description="The body is over 1 MiB")(func)

        return decorator

    def response(self, status_code, schema=None, *, headers=None, **kwargs):
        """As flask-smorest's; on a rate-limited blueprint the response documents the
        X-RateLimit-* headers and the operation its 429."""
        if not self.rate_limited:
            return super().response(status_code, schema, headers=headers, **kwargs)
        document = super().response(
            status_code, schema, headers={**RATE_LIMIT_HEADERS, **(headers or {})}, **kwargs
        )

        def decorator(func):
            documented = getattr(func, "_apidoc", {}).get("response", {}).get("responses", {})
            func = document(func)
            if 429 in documented:  # the view documents its own limit (login, streams)
                return func
            return self.alt_response(429, description="Rate limit exceeded")(func)

        return decorator

    def alt_response(
        self, status_code, response=None, *, schema=None, content_type=None, headers=None, **kw
    ):
        """As flask-smorest's, but an error status documented without a body of its own gets
        the problem+json body every error has, and 429/503 their Retry-After header."""
        status = int(status_code)
        if response is None and schema is None and status >= 400:
            schema, content_type = ProblemSchema, content_type or PROBLEM_MIME
        if status in RETRY_AFTER_STATUSES:
            headers = {"Retry-After": RETRY_AFTER_HEADER, **(headers or {})}
        return super().alt_response(
            status_code, response, schema=schema, content_type=content_type, headers=headers, **kw
        )

    def if_match(self, func):
        """Document the If-Match request header and its 412 (app/routes/etag.py checks it)."""
        func = self.doc(parameters=[IF_MATCH_PARAMETER])(func)
        return self.alt_response(412, description="If-Match names another version")(func)

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
