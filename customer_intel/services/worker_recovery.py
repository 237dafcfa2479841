"""What a worker does each time it connects to the broker: at start, and when the broker comes
back after an outage.

- Runs orphaned by a dead worker are marked failed and their venue's work queued again at
  once (`dispatch.orphans_recover`), instead of waiting for the next periodic tick, which
  does the same.
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

from customer_intel.services.recompute import dispatch

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
    orphans = dispatch.orphans_recover()
    report = RecoveryReport(
        orphans_failed=orphans.failed,
        runs_requeued=len(orphans.queued),
        runs_resent=dispatched.resent,
    )
    logger.info(
        "worker_recovery orphans_failed=%d runs_requeued=%d runs_resent=%d broker_down=%s",
        report.orphans_failed,
        report.runs_requeued,
        report.runs_resent,
        dispatched.broker_down,
    )
    return report
