"""Background work on the task queue (Huey): tasks are thin, like route handlers: load, call a
service, commit. Importing this package registers every task and periodic task.

A new periodic task is a function in a module here, decorated with `periodic` and a Huey
`crontab` (a minute at the shortest: Huey checks once a minute, in every worker), or with
`every` and the name of a setting in seconds for a shorter period (each worker's pulse queues
it), and that module imported below. Either way it runs on every worker, so it must be safe to
run on several at once:

    from huey import crontab
    from app.tasks.queue import every, periodic

    @periodic(crontab(minute="7"))  # hourly
    def apply_retention(): ...

    @every("SLA_SCAN_SECONDS")  # as in app/tasks/sla.py
    def scan_sla_clocks(): ...
"""

from app.tasks import mail, retention, sla, webhooks  # noqa: F401  (registers the tasks)
from app.tasks.queue import huey

__all__ = ["huey"]
