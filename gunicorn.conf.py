"""Production server settings, from the environment: `gunicorn -c gunicorn.conf.py`.

Command-line flags and GUNICORN_CMD_ARGS still override anything set here.
"""

import os
import shutil
import tempfile

from dotenv import load_dotenv

# Gunicorn reads this file before it imports the app, so load .env here too: one .env then
# configures both the server (PORT, LOG_LEVEL, ...) and the app. Real environment variables win.
load_dotenv(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env"))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _available_cores() -> int:
    # The CPU affinity mask honours cpusets (docker --cpuset-cpus, taskset); os.cpu_count()
    # would report every core of the host.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS
        return os.cpu_count() or 1


# The app/ package shadows app.py; it builds `app` on first access, once in each worker.
wsgi_app = "app:app"

# A container platform (Heroku, Cloud Run, Render) hands out the port in PORT; BIND is for
# everything else, e.g. a unix socket behind nginx ("unix:/run/servicedesk.sock").
bind = os.environ.get("BIND") or f"0.0.0.0:{_env_int('PORT', 5001)}"

# gevent: a Server-Sent Events stream holds its connection for as long as the client listens,
# and a greenlet per stream lets one worker hold a thousand of them while still answering REST
# calls (a thread per stream under gthread would not). psycogreen makes psycopg2 yield to other
# greenlets while it waits on PostgreSQL (see post_fork). GUNICORN_WORKER_CLASS=gthread works too.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")

# A gevent worker keeps its core busy while requests wait on the database, so one per core is
# enough (at least two, so that a crashed worker does not stop the service); more only
# compete for the cores: the ticket list served 21% fewer requests/s with 5 workers than with
# 2 on a 2-core machine (bench/http.py). gthread keeps gunicorn's rule of thumb, 2 x cores + 1.
# The cap bounds memory on big hosts and the PostgreSQL connections (see DB_POOL_SIZE):
# 8 workers x 12 stays under PostgreSQL's default max_connections of 100.
_cores = _available_cores()
_default_workers = max(2, _cores) if worker_class == "gevent" else 2 * _cores + 1
workers = _env_int("WEB_CONCURRENCY", min(_default_workers, 8))
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 2000)
threads = _env_int("GUNICORN_THREADS", 8)

# With gthread a worker's heartbeat runs apart from its request threads, so this only kills a
# worker whose main loop is stuck; with the sync worker it also cuts off any request (and so any
# event stream) that runs longer. Raise it if you switch to sync.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (a deploy, `docker stop`) in-flight requests get this long to finish; open event
# streams are cut when it runs out and their clients resume with Last-Event-ID.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# An idle keep-alive connection holds a place in a gthread worker; 5 s covers a client's next
# call. Behind a load balancer that pools connections (an AWS ALB idles them out after 60 s),
# set this above the balancer's idle timeout, or it may send a request down a connection
# gunicorn is just closing and answer 502.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# gunicorn answers an over-long request line itself, in HTML; 0 lets every request reach the
# app, which refuses URLs over its own limit with a problem+json 414. Put a proxy with its own
# header limits (nginx's large_client_header_buffers) in front on an open network.
limit_request_line = _env_int("GUNICORN_LIMIT_REQUEST_LINE", 0)

# Logs go to stdout/stderr, where Docker, systemd and PaaS platforms collect them.
accesslog = "-"
# gunicorn's default format with the path alone: the query string can carry a stream token
# (?token=, for EventSource, which cannot send headers), and no token may reach a log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Only a proxy listed here may tell gunicorn the original scheme (X-Forwarded-Proto), so that
# request.scheme and any absolute URL the app builds say https. "*" trusts every client: use it
# only when the server is reachable through the proxy alone. Gunicorn leaves REMOTE_ADDR as the
# proxy's address whatever this says, so per-address rate limits see the proxy, not the client.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def on_starting(server) -> None:
    # create_app() refuses to run in production with the default JWT secret, but it does so in a
    # booting worker, and gunicorn respawns such a worker forever: a crash loop, not a stop.
    # Checking once in the master stops the server with the app's message.
    from config import insecure_secret_message

    message = insecure_secret_message(os.environ.get("FLASK_ENV"), os.environ.get("JWT_SECRET_KEY"))
    if message:
        raise SystemExit(message)
    _prepare_metrics_directory()


def _prepare_metrics_directory() -> None:
    # Prometheus metrics (app/metrics.py): each worker writes its figures to files in this
    # folder and a scrape of /metrics adds them up, whichever worker answers. The workers,
    # forked after this, import prometheus_client with it set. Emptied at each start, so
    # the figures begin again (Prometheus expects counters to reset on a restart).
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
    else:
        directory = tempfile.mkdtemp(prefix="servicedesk-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        _owned_metrics_directories.append(directory)


_owned_metrics_directories: list[str] = []


def on_exit(server) -> None:
    for directory in _owned_metrics_directories:
        shutil.rmtree(directory, ignore_errors=True)


def post_worker_init(worker) -> None:
    # A stopping worker waits for open requests, and an event stream never finishes on its
    # own: end the streams as soon as the worker stops, so that a deploy does not wait out
    # graceful_timeout. Clients reconnect to another worker and resume with Last-Event-ID.
    import threading  # patched by gevent in gevent workers
    import time

    def close_streams_when_stopping() -> None:
        while worker.alive:
            time.sleep(0.5)
        from app.services.dispatcher import close_all_streams

        close_all_streams("the server is restarting")

    threading.Thread(target=close_streams_when_stopping, daemon=True).start()


def post_fork(server, worker) -> None:
    if worker_class == "gevent":
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def child_exit(server, worker):
    # A dead worker's open-stream gauge no longer counts; its counters still do.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
