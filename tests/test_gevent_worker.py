"""A gevent worker serves many requests at once: work that holds a core, like hashing a
password, must not hold up the worker's other requests and event streams."""

import json
import os
import runpy
import statistics
import threading
import time

import pytest
from argon2 import PasswordHasher

from tests.conftest import PASSWORD, create_user
from tests.servers import ROOT, gunicorn, request


def _timed(port, method, path, body=None) -> float:
    started = time.perf_counter()
    status, _, _ = request(port, method, path, body, {"Content-Type": "application/json"})
    assert status == 200
    return time.perf_counter() - started


def test_a_login_does_not_stall_the_other_requests_of_its_worker():
    # Argon2's production cost (the test config hashes cheaply), about 0.1 s of CPU a login.
    user = create_user("agent", password_hash=PasswordHasher().hash(PASSWORD))
    login = json.dumps({"email": user.email, "password": PASSWORD}).encode()
    limits = {
        name: "100000 per minute"
        for name in (
            "RATELIMIT_LOGIN",
            "RATELIMIT_LOGIN_PER_ADDRESS",
            "RATELIMIT_LOGIN_PER_ACCOUNT",
            "RATELIMIT_DEFAULT",
        )
    }
    with gunicorn(workers=1, config="development", **limits) as port:
        alone = statistics.median(_timed(port, "POST", "/api/auth/login", login) for _ in range(3))
        stop = time.monotonic() + 3

        def keep_logging_in():
            while time.monotonic() < stop:
                _timed(port, "POST", "/api/auth/login", login)

        storm = [threading.Thread(target=keep_logging_in) for _ in range(3)]
        for thread in storm:
            thread.start()
        health = []
        while time.monotonic() < stop:
            health.append(_timed(port, "GET", "/health"))
            time.sleep(0.02)
        for thread in storm:
            thread.join()
    # Hashing on the event loop made /health wait for the logins queued before it: about
    # three logins' time, 0.43 s here against 0.13 s for a login alone. Off the loop: 0.014 s.
    assert statistics.median(health) < alone / 2, (alone, sorted(health))


def test_a_wrong_password_leaves_no_traceback_in_the_server_log(tmp_path):
    user = create_user("agent")
    wrong = json.dumps({"email": user.email, "password": "not-the-password"}).encode()
    log_path = tmp_path / "server.log"
    with (
        open(log_path, "wb") as log,
        gunicorn(workers=1, config="development", output=log, LOG_LEVEL="INFO") as port,
    ):
        headers = {"Content-Type": "application/json"}
        status, _, _ = request(port, "POST", "/api/auth/login", wrong, headers)
        assert status == 401
    log_text = log_path.read_text()
    assert '"path": "/api/auth/login", "status": 401' in log_text  # the output did land here
    assert "VerifyMismatchError" not in log_text and "Traceback" not in log_text, log_text


@pytest.mark.parametrize(
    ("worker_class", "cores", "workers"),
    [("gevent", 1, 2), ("gevent", 4, 4), ("gevent", 16, 8), ("gthread", 2, 5), ("gthread", 4, 8)],
)
def test_default_worker_count_follows_the_cores(monkeypatch, worker_class, cores, workers):
    # gevent workers do not idle while a request waits on the database: one per core.
    monkeypatch.setenv("WEB_CONCURRENCY", "")  # unset, and not taken from a .env either
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", worker_class)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    settings = runpy.run_path(os.path.join(ROOT, "gunicorn.conf.py"))
    assert settings["workers"] == workers
