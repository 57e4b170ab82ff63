"""Security headers on every response, and a limit on URL length."""

from flask import Flask, abort, request

DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


MAX_URL_LENGTH = 8192


def register_security_headers(app: Flask) -> None:
    @app.before_request
    def refuse_long_urls():
        if len(request.environ.get("RAW_URI") or request.full_path) > MAX_URL_LENGTH:
            abort(414)

    @app.after_request
    def add_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/docs"):
            headers["Content-Security-Policy"] = DOCS_POLICY
        else:
            headers.setdefault("Content-Security-Policy", API_POLICY)
        if "Authorization" in request.headers or request.path.startswith("/api/auth"):
            headers["Cache-Control"] = "no-store"
        return response
