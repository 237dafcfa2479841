"""A Celery consumer step: what a worker does each time it connects to the broker.

Consumer steps start again after every reconnection, so the recovery runs both when a worker
starts and as soon as the broker is back after an outage (see services.worker_recovery).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)


class RecoverRunsOnConnect(bootsteps.StartStopStep):
    """Fail runs orphaned by a dead worker, re-queue their venues' work, and re-send queued
    runs whose message may never have reached the broker."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, parent: Any) -> None:
        # Imported here: the Celery app is configured before Django's apps are loaded.
        from django.db import connections

        from customer_intel.services.worker_recovery import runs_recover

        try:
            runs_recover()
        except Exception:
            # The worker must start anyway (the database may be down too); the periodic tick
            # and the venue's next run recover the same runs later.
            logger.exception("worker_recovery_failed")
        finally:
            # Not left open in the main process, whose later forks would share it.
            connections.close_all()
