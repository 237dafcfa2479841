"""Runs of the recompute engine: one at a time per venue, each recorded.

    events ──(pending marks)──▶ CustomerFacts ──▶ compute_profile ──▶ CustomerProfile
                                                                  └─▶ SegmentSnapshot

A run (full or incremental, see `strategies`) holds its venue's lock (`db.locks.venue_lock`);
a run that finds the venue busy is recorded `skipped`. Its work is one transaction; its
record (`RecomputeRun`) says what was asked, what happened and how long it took. Every "days
since" is measured to the run's `as_of`; customers with events after it (a reproducible run in
the past) are aggregated from their events at or before it instead of from their stored facts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from customer_intel.db.locks import LockNotAcquired, venue_lock
from customer_intel.db.statistics import stale_tables_analyze
from customer_intel.logging import redact
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    PendingCustomer,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
    Venue,
)
from customer_intel.services import facts as facts_service
from customer_intel.services.recompute.strategies import run_full, run_incremental
from customer_intel.trends.history import history_record

logger = logging.getLogger(__name__)

# Customers per chunk: each chunk is a few grouped queries and one COPY; memory stays bounded
# by this whatever the venue's size.
CHUNK_SIZE = 20_000
ORPHAN_ERROR = "worker died before finishing"
SKIPPED_MESSAGE = "skipped: another recompute of this venue was running"
_MAX_ERROR_LENGTH = 2000


class AsOfInFuture(ValueError):
    """A recompute as of an instant that has not happened yet: refused before anything is
    stored (the SPEC: a future as-of is refused)."""


def as_of_refusal(as_of: datetime, *, now: datetime | None = None) -> str | None:
    """Why a recompute as of `as_of` is refused, or None when it may run."""
    now = now or timezone.now()
    if as_of > now:
        return (
            f"as-of {as_of.isoformat()} is in the future (now is {now.isoformat()}): "
            "a run can only reproduce an instant that has happened"
        )
    return None


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return redact(text)[:_MAX_ERROR_LENGTH]


def run_recompute(
    *,
    venue: Venue,
    mode: str,
    as_of: datetime | None = None,
    run: RecomputeRun | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> RecomputeRun:
    """Recompute a venue's profiles (`RunMode.FULL` or `RunMode.INCREMENTAL`) and record it.
    An incremental run as of an instant before the venue's live snapshot runs, and is
    recorded, as a full run: only a full run reproduces an earlier instant.

    `run` is a queued run to carry out (created when not given). `as_of` defaults to the run's
    own as-of, else now; an as-of in the future raises `AsOfInFuture` before anything is
    written (a given run is recorded failed). If another run holds the venue's lock the run
    is recorded `skipped` and returned. A run still marked `running` while this one holds the
    lock belongs to a dead worker and is marked failed. On error the run's writes roll back
    (the previous profiles stay), the run is recorded `failed` with the error, and the
    exception propagates.
    `progress` is called after each chunk with the number of customers computed so far.

    `events_processed` counts the events read from the event log by this run (pending
    customers' refresh and as-of cutoffs); a full run otherwise reads the facts table.
    """
    if mode not in (RunMode.FULL, RunMode.INCREMENTAL):
        raise ValueError(f"mode must be {RunMode.FULL!r} or {RunMode.INCREMENTAL!r}")
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    as_of = as_of or (run.as_of if run is not None else None) or timezone.now()
    refusal = as_of_refusal(as_of)
    if refusal is not None:
        if run is not None:
            _finish(run, status=RunStatus.FAILED, as_of=as_of, error=refusal)
        raise AsOfInFuture(refusal)
    if run is None:
        run = RecomputeRun.objects.create(
            venue=venue, mode=mode, status=RunStatus.QUEUED, as_of=as_of
        )

    with ExitStack() as stack:
        try:
            stack.enter_context(venue_lock(venue.pk))
        except LockNotAcquired:
            _finish(run, status=RunStatus.SKIPPED, as_of=as_of, error=SKIPPED_MESSAGE)
            logger.info("recompute_skipped venue=%s run=%s mode=%s", venue.pk, run.pk, mode)
            return run
        _run_locked(
            venue=venue, mode=mode, as_of=as_of, run=run, progress=progress, chunk_size=chunk_size
        )
    return run


def _run_locked(
    *,
    venue: Venue,
    mode: str,
    as_of: datetime,
    run: RecomputeRun,
    progress: Callable[[int], None] | None,
    chunk_size: int,
) -> None:
    _fail_orphans(venue=venue, current=run)
    if mode == RunMode.INCREMENTAL and _before_live_snapshot(venue=venue, as_of=as_of):
        # Only a full run reproduces an earlier instant: an incremental one would recompute
        # the few customers with new events and leave everyone else, and the snapshot whose
        # counts the history records, as of later.
        mode = RunMode.FULL
    run.mode = mode
    run.status = RunStatus.RUNNING
    run.as_of = as_of
    run.started_at = timezone.now()
    run.error = ""
    run.save(update_fields=["mode", "status", "as_of", "started_at", "error"])
    started = time.monotonic()
    logger.info("recompute_started venue=%s run=%s mode=%s", venue.pk, run.pk, mode)
    execute = run_full if mode == RunMode.FULL else run_incremental
    try:
        statistics_started = time.monotonic()
        analyzed = stale_tables_analyze(tables=[CustomerEvent, CustomerFacts, PendingCustomer])
        statistics_seconds = time.monotonic() - statistics_started
        with transaction.atomic():
            rebuild_started = time.monotonic()
            rebuilt_events = facts_service.facts_rebuild_if_time_zone_changed(venue=venue)
            rebuild_seconds = time.monotonic() - rebuild_started
            done = execute(
                venue=venue, as_of=as_of, run=run, progress=progress, chunk_size=chunk_size
            )
            if rebuilt_events is not None:
                done.events += rebuilt_events
                done.phases["time_zone_rebuild"] = rebuild_seconds
            if analyzed:
                done.phases["statistics"] = statistics_seconds
            snapshot = SegmentSnapshot.objects.filter(venue=venue).first()
            if snapshot is not None:
                history_record(venue=venue, run=run, snapshot=snapshot)
    except Exception as exc:
        run.customers_processed = 0
        run.events_processed = 0
        _finish(
            run,
            status=RunStatus.FAILED,
            as_of=as_of,
            error=_error_text(exc),
            duration=time.monotonic() - started,
        )
        logger.exception("recompute_failed venue=%s run=%s mode=%s", venue.pk, run.pk, mode)
        raise
    run.customers_processed = done.customers
    run.events_processed = done.events
    _finish(run, status=RunStatus.SUCCEEDED, as_of=as_of, duration=time.monotonic() - started)
    logger.info(
        "recompute_succeeded venue=%s run=%s mode=%s customers=%d events=%d duration_s=%.3f "
        "phases=%s",
        venue.pk,
        run.pk,
        mode,
        done.customers,
        done.events,
        run.duration_seconds,
        done.phases_text(),
    )


def _before_live_snapshot(*, venue: Venue, as_of: datetime) -> bool:
    return SegmentSnapshot.objects.filter(venue=venue, as_of__gt=as_of).exists()


def _fail_orphans(*, venue: Venue, current: RecomputeRun) -> None:
    """Runs left `running` by a worker that died: holding the lock proves none is alive."""
    orphans = (
        RecomputeRun.objects.filter(venue=venue, status=RunStatus.RUNNING)
        .exclude(pk=current.pk)
        .update(status=RunStatus.FAILED, error=ORPHAN_ERROR, finished_at=timezone.now())
    )
    if orphans:
        logger.warning("recompute_orphans_failed venue=%s runs=%d", venue.pk, orphans)


def _finish(
    run: RecomputeRun,
    *,
    status: str,
    as_of: datetime,
    error: str = "",
    duration: float | None = None,
) -> None:
    run.status = status
    run.as_of = as_of
    run.error = error
    run.finished_at = timezone.now()
    run.duration_seconds = duration
    try:
        run.save(
            update_fields=[
                "status",
                "as_of",
                "error",
                "finished_at",
                "duration_seconds",
                "customers_processed",
                "events_processed",
            ]
        )
    except Exception:
        # The connection itself may be gone; the next run marks this one failed as an orphan.
        logger.exception("recompute_record_failed run=%s status=%s", run.pk, status)


def rebuild_facts(*, venue: Venue) -> int:
    """Rebuild the venue's facts from its whole event log (after a bulk load or a time zone
    change), in one transaction. Returns the number of events read."""
    with transaction.atomic():
        return facts_service.facts_rebuild(venue=venue)
