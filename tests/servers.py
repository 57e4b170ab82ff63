"""Start real gunicorn servers on the test database, for tests that cross processes."""

import http.client
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no healthy server on port {port}")


def start_gunicorn(
    port: int, workers: int = 2, config: str = "testing", output=None, **env
) -> subprocess.Popen:
    """gunicorn with the app's `config` on the test database; `env` overrides the environment
    (`access_log`, a file path, is the server's access log)."""
    from app.extensions import db

    url = db.engine.url.render_as_string(hide_password=False)
    return start_server_process(
        port, workers, config, output, TEST_DATABASE_URL=url, DATABASE_URL=url, **env
    )


def start_server_process(
    port: int,
    workers: int = 2,
    config: str = "testing",
    output=None,
    access_log: str = "/dev/null",
    **env,
) -> subprocess.Popen:
    """gunicorn with the app's `config` on the database the environment names; its stdout and
    stderr go to the file `output` when given, its access log to the file `access_log`."""
    environment = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--access-logfile",
            access_log,
            f"app:create_app('{config}')",
        ],
        cwd=ROOT,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
    )
    try:
        wait_healthy(port)
    except RuntimeError:
        process.kill()
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def gunicorn(workers: int = 2, config: str = "testing", output=None, **env):
    """A gunicorn server for the duration of the block; yields its port."""
    port = free_port()
    process = start_gunicorn(port, workers, config, output, **env)
    try:
        yield port
    finally:
        stop(process)


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    """One request on a new connection (so that requests spread over the workers)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data
