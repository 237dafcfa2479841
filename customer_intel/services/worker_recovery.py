"""What a worker does each time it connects to the broker: at start, and when the broker comes
back after an outage.

- Runs orphaned by a dead worker are marked failed and their venue's work queued again at
  once, instead of waiting for the venue's next run (a venue with no new events would wait for
  the nightly one). A run is orphaned when it is `running` while its venue's recompute lock is
  free: a worker claims a run while holding that lock and keeps it for the run's whole
  duration, and the server releases it when the dead worker's session ends.
- Runs still `queued` are sent again, under a fresh task id: their message was never published
  (the broker was down when they were queued) or was lost with the broker, and waiting for the
  next periodic tick would leave them for up to five minutes. A copy whose message did arrive
  is dropped by the worker (it no longer carries the run's task id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from customer_intel.db.locks import LockNotAcquired, venue_lock
from customer_intel.models import RecomputeRun, RunMode, RunStatus, Venue
from customer_intel.services.recompute import ORPHAN_ERROR, dispatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    orphans_failed: int
    runs_requeued: int
    runs_resent: int


def runs_recover(*, now: datetime | None = None) -> RecoveryReport:
    """Re-send queued runs, then fail orphaned runs and queue their venues' work again."""
    now = now or timezone.now()
    dispatched = dispatch.dispatch_queued_runs(older_than=timedelta(0), now=now)
    failed = requeued = 0
    suspects = (
        RecomputeRun.objects.filter(status=RunStatus.RUNNING)
        .order_by("venue_id")
        .values_list("venue_id", flat=True)
        .distinct()
    )
    for venue_id in list(suspects):
        orphans = _fail_orphans(venue_id=venue_id)
        if not orphans:
            continue
        failed += len(orphans)
        mode = RunMode.FULL if RunMode.FULL in orphans else RunMode.INCREMENTAL
        venue = Venue.objects.get(pk=venue_id)
        dispatch.queue_recompute(venue=venue, mode=mode)
        requeued += 1
    report = RecoveryReport(
        orphans_failed=failed, runs_requeued=requeued, runs_resent=dispatched.resent
    )
    logger.info(
        "worker_recovery orphans_failed=%d runs_requeued=%d runs_resent=%d broker_down=%s",
        report.orphans_failed,
        report.runs_requeued,
        report.runs_resent,
        dispatched.broker_down,
    )
    return report


def _fail_orphans(*, venue_id: object) -> list[str]:
    """Mark the venue's runs left `running` failed if no live run holds its lock; returns the
    modes of those runs (none when a run is alive)."""
    try:
        with venue_lock(venue_id):  # type: ignore[arg-type]
            orphans = RecomputeRun.objects.filter(venue_id=venue_id, status=RunStatus.RUNNING)
            modes = list(orphans.values_list("mode", flat=True))
            # Conditional on the status, so a run finishing meanwhile keeps its own.
            orphans.update(status=RunStatus.FAILED, error=ORPHAN_ERROR, finished_at=timezone.now())
    except LockNotAcquired:
        return []
    if modes:
        logger.warning("recompute_orphans_failed venue=%s runs=%d", venue_id, len(modes))
    return modes
