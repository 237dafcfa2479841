"""Celery tasks: thin wrappers over customer_intel.services.recompute.dispatch.

Beat (django-celery-beat, schedules created by migrations 0002 and 0010 and editable in the
admin) calls `queue_incremental_recomputes` every few minutes and `queue_full_recomputes`
nightly; both only record runs and send `recompute_venue` messages, which do the work. Nightly
too, `queue_retention_purges` sends one `purge_expired_events` per venue with a retention.
"""

from __future__ import annotations

import logging

import psycopg
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from customer_intel import task_names
from customer_intel.models import Venue
from customer_intel.services import retention
from customer_intel.services.audit import Actor
from customer_intel.services.recompute import dispatch

logger = logging.getLogger(__name__)

# Errors that say "try again in a moment" (a database restart or failover, a broker blip), not
# "this run cannot succeed". psycopg's own classes too: what the driver raises outside Django's
# cursor wrapper (the profiles' COPY) is not translated into Django's.
TRANSIENT_ERRORS = (
    DatabaseOperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    BrokerOperationalError,
)

# The beat tasks only read and write a few rows; a tick still stuck after this is wedged, and
# the next tick does its work anyway.
TICK_SOFT_TIME_LIMIT = 120
TICK_HARD_TIME_LIMIT = 150


@shared_task(
    bind=True,
    name=task_names.RECOMPUTE_VENUE,
    # Late ack because the task is idempotent: a message redelivered after its worker died
    # recomputes the same snapshot, and a run that already finished is not run again
    # (run_queued_recompute claims the run by id, task id and status).
    acks_late=True,
    # Not requeued when the pool's child process dies (OOM on a huge venue, a segfault): a
    # task that kills its process would otherwise be redelivered forever (the message loop the
    # Celery docs warn about). The run is left `running` with its venue's lock released: the
    # next tick marks it failed and queues the venue again (dispatch.orphans_recover).
    reject_on_worker_lost=False,
    # Its soft and hard time limits come with each message, read from the settings when the
    # run is sent (dispatch._publish_all).
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
    name=task_names.QUEUE_INCREMENTAL_RECOMPUTES,
    soft_time_limit=TICK_SOFT_TIME_LIMIT,
    time_limit=TICK_HARD_TIME_LIMIT,
    ignore_result=True,
)
def queue_incremental_recomputes() -> None:
    """Beat tick: re-send lost runs; queue an incremental run per venue with pending customers."""
    dispatch.queue_incremental_recomputes()


@shared_task(
    name=task_names.QUEUE_FULL_RECOMPUTES,
    soft_time_limit=TICK_SOFT_TIME_LIMIT,
    time_limit=TICK_HARD_TIME_LIMIT,
    ignore_result=True,
)
def queue_full_recomputes() -> None:
    """Nightly: queue a full run of every venue, staggered."""
    dispatch.queue_full_recomputes()


@shared_task(
    name=task_names.QUEUE_RETENTION_PURGES,
    soft_time_limit=TICK_SOFT_TIME_LIMIT,
    time_limit=TICK_HARD_TIME_LIMIT,
    ignore_result=True,
)
def queue_retention_purges() -> None:
    """Nightly: one purge task per venue that sets an event retention."""
    # Time limits travel with each message, read from the settings when it is sent.
    soft_limit = settings.RECOMPUTE_SOFT_TIME_LIMIT
    for venue in retention.venues_with_retention():
        purge_expired_events.apply_async(
            args=[str(venue.pk)],
            soft_time_limit=soft_limit,
            time_limit=settings.RECOMPUTE_HARD_TIME_LIMIT,
        )


@shared_task(
    name=task_names.PURGE_EXPIRED_EVENTS,
    # Idempotent: a purge run again deletes only what is still past the retention.
    acks_late=True,
    reject_on_worker_lost=False,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def purge_expired_events(venue_id: str) -> None:
    """Delete the venue's events past its retention, then queue the recompute of the
    customers concerned."""
    venue = Venue.objects.filter(pk=venue_id).first()
    if venue is None:
        return
    try:
        retention.events_purge_expired(venue=venue, actor=Actor.schedule())
    except retention.PurgeBusy:
        logger.info("retention_purge_skipped venue=%s reason=busy", venue_id)
