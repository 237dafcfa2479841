"""Celery tasks: thin wrappers over customer_intel.services.recompute.dispatch.

Beat (django-celery-beat, schedules created by migration 0002 and editable in the admin) calls
`queue_incremental_recomputes` every few minutes and `queue_full_recomputes` nightly; both only
record runs and send `recompute_venue` messages, which do the work.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from customer_intel.services.recompute import dispatch

# Errors that say "try again in a moment" (a database restart or failover, a broker blip), not
# "this run cannot succeed".
TRANSIENT_ERRORS = (DatabaseOperationalError, InterfaceError, BrokerOperationalError)

# The beat tasks only read and write a few rows; a tick still stuck after this is wedged, and
# the next tick does its work anyway.
TICK_SOFT_TIME_LIMIT = 120
TICK_HARD_TIME_LIMIT = 150


@shared_task(
    bind=True,
    name="customer_intel.tasks.recompute_venue",
    # Late ack because the task is idempotent: a message redelivered after its worker died
    # recomputes the same snapshot, and a run that already finished is not run again
    # (run_queued_recompute claims the run by id, task id and status).
    acks_late=True,
    # Not requeued when the pool's child process dies (OOM on a huge venue, a segfault): a
    # task that kills its process would otherwise be redelivered forever (the message loop the
    # Celery docs warn about). The run is left `running`; the venue's next run marks it failed
    # and the next tick or nightly run recomputes the venue.
    reject_on_worker_lost=False,
    soft_time_limit=settings.RECOMPUTE_SOFT_TIME_LIMIT,
    time_limit=settings.RECOMPUTE_HARD_TIME_LIMIT,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def recompute_venue(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Run the recompute engine for the queued run `run_id`."""
    dispatch.run_queued_recompute(
        run_id=run_id, task_id=self.request.id, is_retry=bool(self.request.retries)
    )


@shared_task(
    name="customer_intel.tasks.queue_incremental_recomputes",
    soft_time_limit=TICK_SOFT_TIME_LIMIT,
    time_limit=TICK_HARD_TIME_LIMIT,
    ignore_result=True,
)
def queue_incremental_recomputes() -> None:
    """Beat tick: re-send lost runs; queue an incremental run per venue with pending customers."""
    dispatch.queue_incremental_recomputes()


@shared_task(
    name="customer_intel.tasks.queue_full_recomputes",
    soft_time_limit=TICK_SOFT_TIME_LIMIT,
    time_limit=TICK_HARD_TIME_LIMIT,
    ignore_result=True,
)
def queue_full_recomputes() -> None:
    """Nightly: queue a full run of every venue, staggered."""
    dispatch.queue_full_recomputes()
