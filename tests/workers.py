"""Background workers for the tests: Huey consumers in this process (threads, on the suite's
own queue) or `flask worker` processes, on the test database."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

from sqlalchemy import func, select

from app.extensions import db
from app.models.background import WorkerHeartbeat
from app.tasks import huey
from app.tasks.worker import Pulse, queue_fan_outs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_QUEUE_URL = "redis://127.0.0.1:6379/7"


@contextmanager
def consumer(app, threads: int = 2, periodic: bool = False, pulse: bool = True):
    """A Huey consumer with `threads` task threads in this process, and the worker's pulse
    (heartbeats and the outbox watcher), as `flask worker` runs them."""
    huey.init_app(app)  # tasks run in this app, whichever app a test created last
    huey.flush()
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    running = huey.create_consumer(
        workers=threads,
        periodic=periodic,
        worker_type="thread",
        initial_delay=0.02,
        max_delay=0.1,
        check_worker_health=False,
    )
    running.start()
    for number, handler in handlers.items():  # the consumer's handlers are for `flask worker`
        signal.signal(number, handler)
    watcher = Pulse(app, on_new_events=queue_fan_outs)
    if pulse:
        watcher.start()
    try:
        yield running
    finally:
        running.stop(graceful=True)
        if pulse:
            watcher.stop()
        huey.flush()


def worker_process(threads: int = 2, **env) -> subprocess.Popen:
    """`flask worker` on the test database, started and beating; `env` adds to its environment
    (TEST_QUEUE_URL chooses its queue)."""
    url = db.engine.url.render_as_string(hide_password=False)
    environment = {
        **os.environ,
        "FLASK_ENV": "testing",
        "TEST_DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        **env,
    }
    before = _heartbeats()
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "flask"),
            "--app",
            "app",
            "worker",
            "--threads",
            str(threads),
        ],
        cwd=ROOT,
        env=environment,
    )
    deadline = time.monotonic() + 30
    while _heartbeats() <= before:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the worker did not start")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _heartbeats() -> int:
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(WorkerHeartbeat)) or 0


def wait_until(condition, timeout: float = 10, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; return that (or the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
