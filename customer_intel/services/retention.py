"""Retention: a venue's events older than its `event_retention_days`, deleted nightly.

The purge walks the (venue, occurred_at) index from the oldest event in batches of
`batch_size`, each its own short transaction: the batch's events are deleted and their
customers marked pending with stale facts, and the purge's audit entry adds the batch's count,
so what was deleted, what must be recomputed and what the trail says never disagree, and no
lock is held longer than one batch. A recompute run queued afterwards rebuilds those
customers' facts from their remaining events and recomputes their profiles (a customer with
no event left loses both; a full run when most of the venue's customers are concerned); until
it runs, profiles show the state before the purge.

One purge per venue at a time (an advisory lock of its own; recomputes, ingestion and
erasures go on meanwhile).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customer_intel.db.locks import LockNotAcquired, purge_lock
from customer_intel.logging import redact
from customer_intel.models import (
    CustomerEvent,
    PrivacyAction,
    PrivacyAuditEntry,
    RunMode,
    Venue,
)
from customer_intel.services import facts as facts_service
from customer_intel.services.audit import Actor, Status, audit_record
from customer_intel.services.recompute.dispatch import queue_recompute
from customer_intel.services.recompute.strategies import REBUILD_PENDING_SHARE

logger = logging.getLogger(__name__)

# Events per batch: each batch's transaction holds the row locks of this many deleted events
# and of their customers' pending marks (measured in bench/bench_privacy.py).
BATCH_SIZE = 5000
INTERRUPTED = "interrupted: its worker stopped before it finished"
_MAX_ERROR_LENGTH = 2000


class PurgeBusy(Exception):
    """Another purge of the venue is running."""


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one purge deleted, how, and the audit entry and recompute run recording it."""

    entry: PrivacyAuditEntry
    events: int
    batches: int
    longest_batch_seconds: float
    run_id: int | None


def retention_cutoff(*, venue: Venue, now: datetime) -> datetime | None:
    """Events before this instant are past the venue's retention; None keeps everything."""
    if venue.event_retention_days is None:
        return None
    return now - timedelta(days=venue.event_retention_days)


def events_purge_expired(
    *,
    venue: Venue,
    actor: Actor,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    recompute: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> PurgeResult | None:
    """Delete the venue's events older than its retention, `batch_size` per transaction.

    Returns None when the venue keeps every event. Raises PurgeBusy when another purge of the
    venue runs. With `recompute` (and something deleted) a run is queued for the customers
    concerned (`recompute_mode`). `on_batch` is called after each committed batch with the
    events deleted so far. Must not run inside a transaction: each batch commits on its own.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    now = now or timezone.now()
    cutoff = retention_cutoff(venue=venue, now=now)
    if cutoff is None:
        return None
    with _purge_lock(venue.pk):
        # Holding the lock proves no earlier purge of the venue is still at work.
        PrivacyAuditEntry.objects.filter(
            venue=venue, action=PrivacyAction.RETENTION_PURGE, status=Status.RUNNING
        ).update(status=Status.FAILED, error=INTERRUPTED, finished_at=now)
        detail = {
            "retentionDays": venue.event_retention_days,
            "cutoff": cutoff.isoformat(),
            "batchSize": batch_size,
        }
        entry = audit_record(
            venue=venue,
            action=PrivacyAction.RETENTION_PURGE,
            actor=actor,
            detail=detail,
            status=Status.RUNNING,
        )
        try:
            deleted, batches, longest = _delete_in_batches(
                venue=venue,
                cutoff=cutoff,
                entry=entry,
                batch_size=batch_size,
                now=now,
                on_batch=on_batch,
            )
        except Exception as exc:
            PrivacyAuditEntry.objects.filter(pk=entry.pk).update(
                status=Status.FAILED,
                finished_at=timezone.now(),
                error=redact(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR_LENGTH],
            )
            logger.exception("retention_purge_failed venue=%s entry=%s", venue.pk, entry.pk)
            raise
    run_id = _queue_recompute(venue) if recompute and deleted else None
    detail.update(batches=batches, longestBatchSeconds=round(longest, 4), recomputeRun=run_id)
    PrivacyAuditEntry.objects.filter(pk=entry.pk).update(
        status=Status.SUCCEEDED, finished_at=timezone.now(), detail=detail
    )
    entry.refresh_from_db()
    logger.info(
        "retention_purge_succeeded venue=%s events=%d batches=%d longest_batch_s=%.3f run=%s",
        venue.pk,
        deleted,
        batches,
        longest,
        run_id,
    )
    return PurgeResult(
        entry=entry,
        events=deleted,
        batches=batches,
        longest_batch_seconds=longest,
        run_id=run_id,
    )


def _delete_in_batches(
    *,
    venue: Venue,
    cutoff: datetime,
    entry: PrivacyAuditEntry,
    batch_size: int,
    now: datetime,
    on_batch: Callable[[int], None] | None,
) -> tuple[int, int, float]:
    """Delete every event before `cutoff`, one committed batch at a time, counting them on
    `entry`; returns the events deleted, the batches and the longest batch's seconds."""
    deleted = batches = 0
    longest = 0.0
    after = datetime.min.replace(tzinfo=cutoff.tzinfo)
    while True:
        started = time.monotonic()
        with transaction.atomic():
            count, after = _purge_batch(
                venue=venue, cutoff=cutoff, after=after, limit=batch_size, now=now
            )
            if count:
                PrivacyAuditEntry.objects.filter(pk=entry.pk).update(events=F("events") + count)
        if not count:
            return deleted, batches, longest
        longest = max(longest, time.monotonic() - started)
        deleted += count
        batches += 1
        if on_batch is not None:
            on_batch(deleted)


def venues_with_retention() -> Iterator[Venue]:
    """The venues that set an event retention."""
    return Venue.objects.filter(event_retention_days__isnull=False).order_by("pk").iterator()


def _purge_batch(
    *, venue: Venue, cutoff: datetime, after: datetime, limit: int, now: datetime
) -> tuple[int, datetime]:
    """Delete up to `limit` of the oldest expired events at or after `after`; returns how many
    and the instant to continue from (the walk never revisits the index it has emptied).

    The events are found on the (venue, occurred_at) index and deleted through their primary
    key (a join would let the planner scan the whole table); their customers are marked
    pending with stale facts.
    """
    rows = list(
        CustomerEvent.objects.filter(venue=venue, occurred_at__gte=after, occurred_at__lt=cutoff)
        .order_by("occurred_at")
        .values_list("pk", "customer", "occurred_at")[:limit]
    )
    if not rows:
        return 0, after
    CustomerEvent.objects.filter(pk__in=[pk for pk, _c, _o in rows]).delete()
    facts_service.pending_mark(
        venue=venue,
        customers=(customer for _pk, customer, _o in rows),
        now=now,
        facts_current=False,
    )
    return len(rows), max(occurred for _pk, _c, occurred in rows)


def recompute_mode(*, venue: Venue) -> str:
    """The run that rebuilds the facts and profiles of the customers a purge concerned.

    The engine's own rule: when more than REBUILD_PENDING_SHARE of the venue's customers have
    stale facts, a full run rebuilds them all in one grouped pass over the event log, cheaper
    than refreshing them chunk by chunk as an incremental run does.
    """
    stale = facts_service.stale_pending_count(venue=venue)
    if stale > REBUILD_PENDING_SHARE * facts_service.facts_count(venue=venue):
        return RunMode.FULL
    return RunMode.INCREMENTAL


def _queue_recompute(venue: Venue) -> int:
    return queue_recompute(venue=venue, mode=recompute_mode(venue=venue)).pk


@contextmanager
def _purge_lock(venue_id: uuid.UUID) -> Iterator[None]:
    """The venue's purge lock (session-level, released if the process dies); PurgeBusy when
    another session holds it."""
    with ExitStack() as stack:
        try:
            stack.enter_context(purge_lock(venue_id))
        except LockNotAcquired:
            raise PurgeBusy(f"venue {venue_id} is being purged by another process") from None
        yield
