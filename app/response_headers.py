"""Headers that depend on the finished response: Retry-After and Vary."""

from flask import Flask, request

# Retry-After means "come back later": it belongs to a refusal, not to a success.
RETRY_AFTER_STATUSES = (429, 503)


def register_response_headers(app: Flask) -> None:
    """Register before Flask-Limiter and Flask-CORS: Flask runs after_request functions in the
    reverse order of registration, so this one sees the headers that those two added."""

    @app.after_request
    def finish_headers(response):
        # Flask-Limiter sends Retry-After with every response whenever its headers are on,
        # and has no setting to keep it to refusals.
        if response.status_code not in RETRY_AFTER_STATUSES:
            response.headers.pop("Retry-After", None)
        # The CORS headers of an /api response depend on Origin (allowed, other, or none);
        # Flask-CORS says so only when several origins are configured.
        if request.path.startswith("/api/"):
            response.vary.add("Origin")
        return response
