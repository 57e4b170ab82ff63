"""One structured JSON log line per request, and the X-Request-ID header.

Only the method, the path (never the query string, which may carry a stream token), the
status, the duration, the user id and the request id are logged: no bodies, no tokens.
"""

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from werkzeug.serving import WSGIRequestHandler

logger = logging.getLogger("servicedesk.request")
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _configure_logger(level: str) -> None:
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def register_request_log(app: Flask) -> None:
    _configure_logger(app.config["LOG_LEVEL"])

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def log_request(response):
        request_id = getattr(g, "request_id", None) or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = getattr(g, "request_started", None)
        duration = round((time.perf_counter() - started) * 1000, 2) if started else None
        logger.info(
            json.dumps(
                {
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration,
                    "user_id": getattr(g, "user_id", None),
                    "request_id": request_id,
                    "remote_addr": request.remote_addr,
                }
            )
        )
        return response


class DevRequestHandler(WSGIRequestHandler):
    """The development server's request log line, without the query string (it may carry a
    stream token)."""

    def log_request(self, code="-", size="-") -> None:
        method, _, rest = self.requestline.partition(" ")
        target, _, version = rest.rpartition(" ")
        self.requestline = f"{method} {target.split('?', 1)[0]} {version}"
        super().log_request(code, size)
