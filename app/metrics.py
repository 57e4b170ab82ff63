"""Prometheus metrics, scraped at GET /metrics (app/routes/health.py).

Request counts and durations and the open event streams are kept per process by
prometheus_client; under gunicorn (gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR) every worker
writes them to files there and a scrape adds them up, so the figures are right whichever worker
answers. What lives in the database (webhook deliveries by status) and in the task queue (jobs
waiting) is read at scrape time, so it is right across hosts and restarts too.
"""

import hmac
import ipaddress
import os
import time

from flask import Flask, current_app, g, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from app.errors import PermissionDenied, Unauthorized

# prometheus_client chose per-process files or memory when it was first imported (just now).
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "servicedesk_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "servicedesk_http_request_duration_seconds",
    "Time to answer an HTTP request (for a stream: until its headers), by route template.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OPEN_STREAMS = Gauge(
    "servicedesk_event_streams_open",
    "Server-Sent Event streams open now.",
    multiprocess_mode="livesum",
)


class _StoredStateCollector:
    """Figures read from the database and the task queue at each scrape."""

    def collect(self):
        from app.extensions import db
        from app.models.mail import Mail
        from app.models.webhook import WebhookDelivery
        from app.tasks.queue import huey

        deliveries = GaugeMetricFamily(
            "servicedesk_webhook_deliveries",
            "Webhook deliveries kept, by status (pending, succeeded, failed).",
            labels=["status"],
        )
        counts = dict(
            db.session.execute(
                select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
            ).all()
        )
        for status in ("pending", "succeeded", "failed"):
            deliveries.add_metric([status], counts.get(status, 0))
        yield deliveries
        mails = GaugeMetricFamily(
            "servicedesk_mails",
            "Notification mails kept, by status (pending, sent, failed).",
            labels=["status"],
        )
        counts = dict(
            db.session.execute(select(Mail.status, func.count()).group_by(Mail.status)).all()
        )
        for status in ("pending", "sent", "failed"):
            mails.add_metric([status], counts.get(status, 0))
        yield mails
        yield GaugeMetricFamily(
            "servicedesk_background_jobs_waiting",
            "Jobs in the task queue that no worker has taken yet.",
            value=huey.pending_count(),
        )


def check_caller() -> None:
    """With METRICS_TOKEN, the caller must send it as a bearer token (401); without, only
    loopback clients may scrape (403)."""
    token = current_app.config["METRICS_TOKEN"]
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise Unauthorized("Send the METRICS_TOKEN as a bearer token.")
        return
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise PermissionDenied("Set METRICS_TOKEN to scrape from another host.")


def scrape() -> bytes:
    """The metrics in Prometheus' text format."""
    stored = CollectorRegistry()
    stored.register(_StoredStateCollector())
    if MULTIPROCESS:
        live = CollectorRegistry()
        multiprocess.MultiProcessCollector(live)
    else:
        live = REGISTRY
    return generate_latest(live) + generate_latest(stored)


def register_metrics(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = getattr(g, "metrics_started", None)
        if started is not None and request.path != "/metrics":
            route = request.url_rule.rule if request.url_rule else "unmatched"
            REQUESTS.labels(route, request.method, str(response.status_code)).inc()
            DURATION.labels(route, request.method).observe(time.perf_counter() - started)
        return response
