"""The task queue: one Huey instance, whose storage the app's QUEUE_URL chooses.

Tasks are declared at import time on `huey`, as Huey wants; `init_app` then points it at its
storage: `redis://host:6379/N` (any number of workers on any number of hosts) or, unset, a
SQLite file in instance/ (workers of one host). The storage is opened on first use, so that
commands that never touch the queue (migrations, seeding) create nothing.

Declare tasks with `task()` and periodic ones with `periodic()`: both run the function inside
an app context of its own (a database session per task, removed afterwards), or in the
caller's when there is one (a test calling `some_task.call_local()`).
"""

import functools
import logging
import os
import threading

from flask import Flask, has_app_context
from huey import Huey
from huey.storage import BlackHoleStorage, RedisStorage, SqliteStorage

logger = logging.getLogger(__name__)
QUEUE_NAME = "servicedesk"
SCHEMES = ("redis://", "rediss://", "unix://", "sqlite:///")
BAD_URL = "QUEUE_URL must be redis://host:port/db, sqlite:///path, or unset."


def storage_for(url: str | None, instance_path: str):
    """The Huey storage of a QUEUE_URL (None: instance/queue.db)."""
    if not url:
        return SqliteStorage(QUEUE_NAME, filename=os.path.join(instance_path, "queue.db"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage(QUEUE_NAME, url=url)
    if url.startswith("sqlite:///"):
        return SqliteStorage(QUEUE_NAME, filename=url.removeprefix("sqlite:///"))
    raise ValueError(BAD_URL)


class TaskQueue(Huey):
    """Huey, with its storage chosen by the Flask app and opened lazily."""

    def __init__(self) -> None:
        self._storage = None
        self._storage_lock = threading.Lock()
        self._open_storage = None
        self.flask_app: Flask | None = None
        # Results are never read: the database holds the state of the work.
        super().__init__(QUEUE_NAME, results=False, storage_class=BlackHoleStorage)

    def init_app(self, app: Flask) -> None:
        self.flask_app = app
        url, instance_path = app.config["QUEUE_URL"], app.instance_path
        if url and not url.startswith(SCHEMES):
            raise ValueError(BAD_URL)  # at startup, not at the first task
        with self._storage_lock:
            self._open_storage = functools.partial(storage_for, url, instance_path)
            self._storage = None

    @property
    def storage(self):
        if self._storage is None and self._open_storage is not None:
            with self._storage_lock:
                if self._storage is None:
                    self._storage = self._open_storage()
        return self._storage

    @storage.setter
    def storage(self, value) -> None:
        self._storage = value


huey = TaskQueue()


def _in_app_context(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return function(*args, **kwargs)
        with huey.flask_app.app_context():
            return function(*args, **kwargs)

    return wrapper


def task(**options):
    """Declare a task (Huey's options, e.g. retries=3)."""
    return lambda function: huey.task(**options)(_in_app_context(function))


def periodic(schedule, **options):
    """Declare a periodic task, e.g. `@periodic(crontab(minute="*/5"))`. Huey checks them once
    a minute, in every worker: a periodic task must be safe to run on several at once."""
    return lambda function: huey.periodic_task(schedule, **options)(_in_app_context(function))


# (task, setting): queued by every worker's pulse each app.config[setting] seconds.
INTERVAL_TASKS: list[tuple] = []


def every(setting: str, **options):
    """Declare a task for a period under Huey's one minute: each worker's pulse queues it
    every `app.config[setting]` seconds, e.g. `@every("SLA_SCAN_SECONDS")`. With several
    workers it runs that often on each, so it must be safe to run on several at once."""

    def decorator(function):
        wrapper = task(**options)(function)
        INTERVAL_TASKS.append((wrapper, setting))
        return wrapper

    return decorator


def enqueue_quietly(task_wrapper, *args) -> None:
    """Enqueue, but never fail the caller: the database holds the work, and a periodic sweep
    finds what a lost enqueue left behind."""
    try:
        task_wrapper(*args)
    except Exception:
        logger.warning("Could not enqueue %s%r; the sweep will", task_wrapper.name, args)
