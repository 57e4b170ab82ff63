"""RFC 9457 problem details for every error the app returns."""

import hashlib
import http
import logging

import marshmallow as ma
from flask import current_app, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.openapi import ClientReadyPlugin

logger = logging.getLogger(__name__)

PROBLEM_MIME = "application/problem+json"


class ServiceError(Exception):
    """Base of the errors services raise; errors.py turns them into problem+json."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class NotFound(ServiceError):
    status, title = 404, "Not Found"


class PermissionDenied(ServiceError):
    status, title = 403, "Forbidden"


class Conflict(ServiceError):
    status, title = 409, "Conflict"


class InvalidTransition(Conflict):
    pass


class PreconditionFailed(ServiceError):
    status, title = 412, "Precondition Failed"


class ValidationFailed(ServiceError):
    status, title = 422, "Unprocessable Entity"


class Unauthorized(ServiceError):
    status, title = 401, "Unauthorized"


class TooManyRequests(ServiceError):
    status, title = 429, "Too Many Requests"


def problem_response(
    status: int, title: str, detail: str, errors: dict | None = None, headers: dict | None = None
):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_MIME)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_webargs_errors(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {...}}); clients want them by field."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, problems in fields.items():
                flat.setdefault(field, []).extend(
                    problems if isinstance(problems, list) else [problems]
                )
        else:
            flat.setdefault(location, []).extend(fields if isinstance(fields, list) else [fields])
    return flat


def _normalise(errors: dict) -> dict:
    """Nested errors (list items, nested objects) become lists of strings per field."""
    out = {}
    for field, problems in errors.items():
        if isinstance(problems, dict):
            out[field] = [f"{key}: {value}" for key, value in problems.items()]
        elif isinstance(problems, list):
            out[field] = [str(problem) for problem in problems]
        else:
            out[field] = [str(problems)]
    return out


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only)."""

    OPENAPI_OPTIONAL_FIELDS = ("errors",)  # only for field-level problems

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


class ProblemApi(Api):
    """flask-smorest's Api with problem+json errors in place of its own payload."""

    ERROR_SCHEMA = ProblemSchema
    SPEC_MAX_AGE = 300  # seconds a client may use the spec before it asks again (If-None-Match)

    def _init_spec(self, *, marshmallow_plugin=None, **kwargs):
        super()._init_spec(marshmallow_plugin=marshmallow_plugin or ClientReadyPlugin(), **kwargs)

    def _openapi_json(self):
        """The spec, with a strong ETag of its text and public caching; 304 on If-None-Match."""
        response = super()._openapi_json()
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
        response.cache_control.public = True
        response.cache_control.max_age = self.SPEC_MAX_AGE
        return response.make_conditional(request)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIME)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        errors = data.get("errors")
        if errors is None and "messages" in data:
            errors = _flatten_webargs_errors(data["messages"])
        detail = data.get("message") or error.description or error.name
        if error.code == 422 and errors:
            detail = "The request has invalid fields: " + ", ".join(sorted(errors)) + "."
        if error.code == 400 and data.get("messages"):
            errors = None  # e.g. malformed JSON: the detail says it all
            detail = "The request body is not valid JSON."
        if error.code == 429:
            detail = (
                f"Too many requests (limit: {error.description}). "
                "Retry after the number of seconds in the Retry-After header."
            )
        if error.code >= 500:
            detail = "The server failed to handle the request."
        return problem_response(
            error.code or 500, error.name, detail, _normalise(errors) if errors else None, headers
        )


def register_error_handlers(app) -> None:
    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        errors = _normalise(error.errors) if error.errors else None
        return problem_response(error.status, error.title, error.detail, errors, error.headers)

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError):
        # The database went away (restart, failover): nothing was committed, so the client
        # may retry; an Idempotency-Key makes the retry safe for creates.
        logger.warning("Database unavailable: %s", type(error.orig).__name__)
        return problem_response(
            503,
            "Service Unavailable",
            "The database is unavailable; retry shortly.",
            headers={"Retry-After": "1"},
        )

    @app.errorhandler(RecursionError)
    def handle_nested_too_deeply(error: RecursionError):
        # Only a hostile body gets here: JSON nested thousands of levels deep.
        return problem_response(400, "Bad Request", "The request body is nested too deeply.")

    @app.errorhandler(StaleDataError)
    def handle_concurrent_change(error: StaleDataError):
        # Writers lock the ticket first, so this is a last line of defence, not a normal path.
        return problem_response(
            409, "Conflict", "The object was changed by another request at the same time; retry."
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        logger.exception("Unhandled error")
        server_error = InternalServerError()
        return problem_response(500, server_error.name, "The server failed to handle the request.")
