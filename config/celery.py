"""The Celery application; tasks live in customer_intel.tasks."""

import os

from celery import Celery

from customer_intel.worker_steps import RecoverRunsOnConnect

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("customer_intel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each time a worker connects to the broker (at start, after an outage): recover runs.
app.steps["consumer"].add(RecoverRunsOnConnect)
