"""Configuration classes, read from the environment (and `.env` through python-dotenv)."""

import os
from datetime import timedelta

from dotenv import load_dotenv

load_dotenv()

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
DEFAULT_JWT_SECRET = "dev-only-insecure-secret-change-me-in-production"
# HS256 keys shorter than the hash (32 bytes) can be brute-forced offline from any one token.
MIN_SECRET_LENGTH = 32


def insecure_secret_message(flask_env: str | None, secret: str | None) -> str | None:
    """Why production must not start with this JWT secret, or None when it may."""
    if flask_env != "production":
        return None
    if not secret or secret == DEFAULT_JWT_SECRET:
        return "Set JWT_SECRET_KEY to a long random value to run in production."
    if len(secret) < MIN_SECRET_LENGTH:
        return (
            f"JWT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
    return None


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_seconds_list(name: str, default: str) -> tuple[float, ...]:
    """Comma-separated seconds, e.g. "30,120,600"."""
    raw = os.environ.get(name, default)
    return tuple(float(part) for part in raw.split(",") if part.strip())


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_list(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(
        part.strip().lower() for part in os.environ.get(name, default).split(",") if part.strip()
    )


def _sla_minutes(priority: str, response: int, resolution: int) -> tuple[int, int]:
    """SLA targets in minutes, overridable as SLA_<PRIORITY>_RESPONSE/RESOLUTION_MINUTES."""
    prefix = f"SLA_{priority.upper()}_"
    return (
        _env_int(prefix + "RESPONSE_MINUTES", response),
        _env_int(prefix + "RESOLUTION_MINUTES", resolution),
    )


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or os.environ.get(
        "JWT_SECRET_KEY", DEFAULT_JWT_SECRET
    )
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", "sqlite:///" + os.path.join(BASE_DIR, "instance", "servicedesk.db")
    )
    # Connections a worker keeps open. A request beyond them opens one more (up to
    # DB_MAX_OVERFLOW) and closes it afterwards, so PostgreSQL starts a new backend for every
    # such request: size the pool for the requests a worker serves at once. Keep
    # workers x (DB_POOL_SIZE + DB_MAX_OVERFLOW) below PostgreSQL's max_connections (100).
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_size": _env_int("DB_POOL_SIZE", 10),
        "max_overflow": _env_int("DB_MAX_OVERFLOW", 2),
    }
    MAX_CONTENT_LENGTH = 1024 * 1024

    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", DEFAULT_JWT_SECRET)
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(seconds=_env_int("JWT_ACCESS_TOKEN_EXPIRES", 900))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(seconds=_env_int("JWT_REFRESH_TOKEN_EXPIRES", 2592000))
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ERROR_MESSAGE_KEY = "detail"

    CORS_ORIGINS = [
        origin.strip()
        for origin in os.environ.get("CORS_ORIGINS", "http://localhost:5173").split(",")
        if origin.strip()
    ]

    RATELIMIT_DEFAULT = os.environ.get("RATELIMIT_DEFAULT", "600 per minute")
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute")
    # Password spraying: many e-mails from one address, or one e-mail from many addresses.
    RATELIMIT_LOGIN_PER_ADDRESS = os.environ.get("RATELIMIT_LOGIN_PER_ADDRESS", "30 per minute")
    RATELIMIT_LOGIN_PER_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_PER_ACCOUNT", "50 per hour")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    # Offset pages reach this many objects of a list and totals are counted this far (null
    # above): past it, counting and skipping rows is what makes a page slow; cursors go on.
    PAGINATION_MAX_OFFSET_OBJECTS = _env_int("PAGINATION_MAX_OFFSET_OBJECTS", 10_000)
    # Each worker keeps up to this many MiB of dumped list tickets (app/services/ticket_dumps.py);
    # 0 turns the cache off.
    TICKET_DUMP_CACHE_MB = _env_int("TICKET_DUMP_CACHE_MB", 32)

    # Minutes per priority: (response, resolution).
    SLA_TARGETS = {
        "critical": _sla_minutes("critical", 15, 4 * 60),
        "high": _sla_minutes("high", 60, 8 * 60),
        "medium": _sla_minutes("medium", 4 * 60, 24 * 60),
        "low": _sla_minutes("low", 8 * 60, 72 * 60),
    }

    # Open tickets that a change of the SLA rules replays within the request; with more, the
    # worker replays them in batches after the commit.
    SLA_RECOMPUTE_INLINE_MAX = _env_int("SLA_RECOMPUTE_INLINE_MAX", 500)
    # Seconds between the worker's SLA scans: warnings and breaches go out within about this.
    SLA_SCAN_SECONDS = float(os.environ.get("SLA_SCAN_SECONDS", 30))

    EVENTS_HEARTBEAT_SECONDS = float(os.environ.get("EVENTS_HEARTBEAT_SECONDS", 15))
    EVENTS_POLL_SECONDS = float(os.environ.get("EVENTS_POLL_SECONDS", 1))
    EVENTS_MAX_STREAM_SECONDS = float(os.environ.get("EVENTS_MAX_STREAM_SECONDS", 600))
    EVENTS_MAX_STREAMS_PER_USER = _env_int("EVENTS_MAX_STREAMS_PER_USER", 10)
    IDEMPOTENCY_TTL_HOURS = 24
    # Events older than this are deleted (unless a pending webhook delivery still needs them);
    # a stream resuming from a deleted id gets `event: reset` first.
    EVENTS_RETENTION_DAYS = float(os.environ.get("EVENTS_RETENTION_DAYS", 7))

    # Background work (app/tasks): the task queue's storage. redis://host:6379/N serves any
    # number of workers on any number of hosts; unset, a SQLite file in instance/ serves one host.
    QUEUE_URL = os.environ.get("QUEUE_URL") or None
    # Task threads per `flask worker` process (webhook deliveries wait on the network).
    WORKER_THREADS = _env_int("WORKER_THREADS", 4)
    # Seconds between a worker's heartbeats; /health says "late" after three missed ones.
    WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", 5))
    # Seconds between a worker's checks for new events to deliver (PostgreSQL also wakes it
    # at once through LISTEN/NOTIFY).
    WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", 1))

    # Webhook targets that may be private or loopback addresses (host names, comma-separated).
    WEBHOOK_ALLOWED_HOSTS = _env_list("WEBHOOK_ALLOWED_HOSTS")
    # Seconds to wait after each failed attempt; one attempt more than entries, then `failed`.
    WEBHOOK_RETRY_SCHEDULE = _env_seconds_list(
        "WEBHOOK_RETRY_SCHEDULE", "30,120,600,1800,7200,21600,43200"
    )
    WEBHOOK_TIMEOUT_SECONDS = 10.0
    # A worker that claimed an attempt and vanished (killed) holds it this long; then the
    # delivery sweep hands it to another worker.
    WEBHOOK_LEASE_SECONDS = float(os.environ.get("WEBHOOK_LEASE_SECONDS", 60))
    # Succeeded and failed deliveries are kept this long in the delivery log.
    WEBHOOK_DELIVERIES_RETENTION_DAYS = float(
        os.environ.get("WEBHOOK_DELIVERIES_RETENTION_DAYS", 30)
    )

    # E-mail (API.md section 12). Without MAIL_SERVER each mail is written as an .eml file to
    # instance/mail/ instead of being sent.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")  # STARTTLS after connecting
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL")  # TLS from the first byte (usually port 465)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_FROM = os.environ.get("MAIL_FROM", "ServiceDesk <servicedesk@localhost>")
    MAIL_TIMEOUT_SECONDS = float(os.environ.get("MAIL_TIMEOUT_SECONDS", 30))
    # Seconds to wait after each failed attempt; one attempt more than entries, then `failed`.
    MAIL_RETRY_SCHEDULE = _env_seconds_list("MAIL_RETRY_SCHEDULE", "30,120,600,1800,7200,21600")
    # A worker that claimed a mail and vanished holds it this long; then the sweep retries it.
    MAIL_LEASE_SECONDS = float(os.environ.get("MAIL_LEASE_SECONDS", 120))
    # Links in mails point here, and only here.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://localhost:5001").rstrip("/")
    # POST /api/inbound/email takes mail with this bearer token; unset, the endpoint is 404.
    INBOUND_EMAIL_TOKEN = os.environ.get("INBOUND_EMAIL_TOKEN") or None
    # An unknown sender becomes a requester (without a password) instead of being ignored.
    INBOUND_EMAIL_CREATE_REQUESTERS = _env_bool("INBOUND_EMAIL_CREATE_REQUESTERS")
    INBOUND_EMAIL_MAX_BYTES = 10 * 1024 * 1024

    PASSWORD_HASH_PARAMS: dict = {}
    # How many reverse proxies set X-Forwarded-For in front of the app (0: none, trust nothing);
    # rate limits per client address need the real address.
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    # Bearer token for GET /metrics; unset, /metrics answers loopback clients only.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

    API_TITLE = "ServiceDesk API"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # Relative: the API is where the spec was fetched from, whatever the host or proxy.
    API_SPEC_OPTIONS = {"servers": [{"url": "/", "description": "This server"}]}
    # /api/docs is served by app/routes/docs.py from a bundled Swagger UI (no CDN).


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "TEST_DATABASE_URL", "sqlite:///" + os.path.join(BASE_DIR, "instance", "test.db")
    )
    # Cheap hashing keeps the suite fast; production uses argon2's defaults.
    PASSWORD_HASH_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    RATELIMIT_LOGIN = "1000 per minute"
    RATELIMIT_LOGIN_PER_ADDRESS = "1000 per minute"
    RATELIMIT_LOGIN_PER_ACCOUNT = "1000 per minute"
    RATELIMIT_DEFAULT = "100000 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    EVENTS_HEARTBEAT_SECONDS = 0.2
    EVENTS_POLL_SECONDS = 0.05
    # A queue of the suite's own (tests/test_worker.py also runs one on Redis database 7).
    QUEUE_URL = os.environ.get(
        "TEST_QUEUE_URL", "sqlite:///" + os.path.join(BASE_DIR, "instance", "test-queue.db")
    )
    # Test receivers listen on loopback.
    WEBHOOK_ALLOWED_HOSTS = _env_list("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    WEBHOOK_RETRY_SCHEDULE = _env_seconds_list("WEBHOOK_RETRY_SCHEDULE", "1,1")
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", 10))
    WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", 0.5))
    WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", 0.1))
    MAIL_RETRY_SCHEDULE = _env_seconds_list("MAIL_RETRY_SCHEDULE", "1,1")
    # Tests set MAIL_SERVER themselves (a local aiosmtpd), never the developer's.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = MAIL_USE_SSL = False
    MAIL_USERNAME = MAIL_PASSWORD = None
    MAIL_FROM = "ServiceDesk <support@desk.example>"
    PUBLIC_URL = "https://desk.example"
    INBOUND_EMAIL_TOKEN = None
    INBOUND_EMAIL_CREATE_REQUESTERS = False


class ProductionConfig(Config):
    pass


configs = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
