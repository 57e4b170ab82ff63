"""The project Blueprint: one way to require a login and a role, to tag versions of an object
(ETag, If-Match), and to document every error response with its problem+json body, in OpenAPI."""

import hashlib
import json
from functools import wraps

import flask_smorest
from flask import json as flask_json
from flask import request
from flask_jwt_extended import current_user
from flask_smorest.utils import get_appcontext
from webargs.flaskparser import FlaskParser

from app.access_token import verify_access_token
from app.errors import (
    PROBLEM_MIME,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ProblemSchema,
    Unauthorized,
)
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
# Fields that move with the clock rather than with writes; they do not make a new version.
TIME_DERIVED_FIELDS = ("response_breached", "resolution_breached", "sla_status")
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

    def versioned(self, schema, *, load=None):
        """As `response(200, schema)`, with the strong ETag of the body it sends.

        With `load` (the view's URL arguments -> the object as the view will change it, locked
        as the view locks it) an If-Match that names no current version of that object gets 412
        before the view runs, and the operation documents If-Match and its 412.
        """
        if isinstance(schema, type):
            schema = schema()

        def decorator(func):
            if load is not None:
                func = self._if_match(func, schema, load)
            respond = self.response(200, schema, headers=ETAG_HEADER)(func)

            @wraps(respond)
            def wrapper(*args, **kwargs):
                response = respond(*args, **kwargs)
                # The body flask-smorest has just dumped: no second dump for the tag.
                response.headers["ETag"] = etag_of(get_appcontext()["result_dump"])
                return response

            return wrapper

        return decorator

    def _if_match(self, func, schema, load):
        @wraps(func)
        def wrapper(*args, **kwargs):
            if_match = request.headers.get("If-Match")
            if if_match:
                candidates = {tag.strip() for tag in if_match.split(",")}
                current = etag_of(schema.dump(load(**kwargs)))
                if "*" not in candidates and current not in candidates:
                    raise PreconditionFailed(
                        "The object has changed since you read it (If-Match failed)."
                    )
            return func(*args, **kwargs)

        wrapper = self.doc(parameters=[IF_MATCH_PARAMETER])(wrapper)
        return self.alt_response(412, description="If-Match names another version")(wrapper)

    def login_required(self, *roles: str, hidden_from: tuple[str, ...] = ()):
        """Require a valid access token, and one of `roles` when given (403 otherwise).

        Users whose role is in `hidden_from` get 404, as for anything they may not see.
        """

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                if verify_access_token().get("scope") == "stream":
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


def etag_of(representation: dict) -> str:
    stable = {k: v for k, v in representation.items() if k not in TIME_DERIVED_FIELDS}
    digest = hashlib.sha256(flask_json.dumps(stable, sort_keys=True).encode()).hexdigest()[:32]
    return f'"{digest}"'


def me() -> User:
    """The authenticated user of this request."""
    return current_user._get_current_object()
