"""Background work on the task queue (Huey): tasks are thin, like route handlers: load, call a
service, commit. Importing this package registers every task and periodic task.

A new periodic task is a function in a module here, decorated with `periodic` and a Huey
`crontab` (the shortest period is a minute; Huey checks once a minute in every worker, so it
must be safe to run on several workers at once), and that module imported below:

    from huey import crontab
    from app.tasks.queue import periodic

    @periodic(crontab(minute="*"))
    def scan_sla_clocks():
        sla.scan(); db.session.commit()
"""

from app.tasks import retention, webhooks  # noqa: F401  (registers the tasks)
from app.tasks.queue import huey

__all__ = ["huey"]
