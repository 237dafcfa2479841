"""The names Celery knows our tasks by.

Senders reach a task through the Celery app by its name (`current_app.tasks[name]`), never by
importing the tasks module: the tasks call the services, so a service importing the tasks
would close a circle. The app registers the tasks when Django starts (`apps.py`).
"""

RECOMPUTE_VENUE = "customer_intel.tasks.recompute_venue"
QUEUE_INCREMENTAL_RECOMPUTES = "customer_intel.tasks.queue_incremental_recomputes"
QUEUE_FULL_RECOMPUTES = "customer_intel.tasks.queue_full_recomputes"
QUEUE_RETENTION_PURGES = "customer_intel.tasks.queue_retention_purges"
PURGE_EXPIRED_EVENTS = "customer_intel.tasks.purge_expired_events"
