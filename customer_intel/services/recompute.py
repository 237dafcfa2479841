"""The recompute engine: one engine for all customers, the changed ones, or one.

    events ──(pending marks)──▶ CustomerFacts ──▶ compute_profile ──▶ CustomerProfile
                                                                  └─▶ SegmentSnapshot

- Incremental run: consumes the venue's pending marks chunk by chunk, refreshes those
  customers' facts from their events, recomputes and upserts their profiles, recounts the
  snapshot — all in one transaction.
- Full run: consumes the pending marks the same way (or, when most customers are pending,
  rebuilds every facts row in one grouped pass), fits the venue's purchase model, then
  replaces every profile of the venue from the facts table (summary rows, not the event log),
  streaming each chunk into COPY and counting segments as it goes — one transaction, so
  readers see the previous profiles until it commits and a worker killed mid-run leaves them
  intact.
- Single customer: the on-demand path for a customer with events but no profile yet; it
  records no run (it is a read path) and leaves the customer's pending mark to the next run.

Runs are serialized per venue by `venue_lock`; a run that finds the venue busy is recorded
`skipped`. Every "days since" is measured to the run's `as_of`; customers with events after it
(a reproducible run in the past) are aggregated from their events at or before it instead of
from their stored facts.
"""

from __future__ import annotations

import gc
import logging
import operator
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.profile import compute_profile
from customer_intel.logging import redact
from customer_intel.models import (
    CustomerProfile,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
    Venue,
)
from customer_intel.services import facts as facts_service
from customer_intel.services import profile_store
from customer_intel.services.locks import LockNotAcquired, venue_lock, venue_lock_key
from customer_intel.services.predictions import chunk_predictor

logger = logging.getLogger(__name__)

# Customers per chunk: each chunk is a few grouped queries and one COPY; memory stays bounded
# by this whatever the venue's size.
CHUNK_SIZE = 20_000
# A full run rebuilds every customer's facts in one pass when more than this share of them
# is pending (a first run, a bulk load), instead of refreshing the pending ones chunk by chunk.
REBUILD_PENDING_SHARE = 0.25
# How long an on-demand store may wait for a row lock before giving up on saving.
SINGLE_STORE_LOCK_TIMEOUT = "200ms"
ORPHAN_ERROR = "worker died before finishing"
SKIPPED_MESSAGE = "skipped: another recompute of this venue was running"
_MAX_ERROR_LENGTH = 2000
_LOCK_NOT_AVAILABLE = "55P03"

PREDICTION_FIELDS = profile_store.PREDICTION_FIELDS
_NO_PREDICTION: dict[str, Any] = dict.fromkeys(PREDICTION_FIELDS)
_NO_PREDICTION["prediction_unavailable_reason"] = ""
_profile_values = operator.attrgetter(*profile_store.VALUE_FIELDS)


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


class ChunkPredictor(Protocol):
    """Predictions for one chunk of customers, keyed by pseudonym.

    Each value maps any of PREDICTION_FIELDS to its value, and may add `probability_alive` and
    `expected_purchases_30d`, which `compute_profile` turns into the model-driven insights. A
    customer missing from the mapping gets no prediction.
    """

    def __call__(self, facts: Sequence[CustomerFactsRow]) -> Mapping[str, Mapping[str, Any]]: ...


def _predictor_for(
    *, venue: Venue, as_of: datetime, run: RecomputeRun | None
) -> ChunkPredictor | None:
    """The per-chunk enrichment step: the venue's purchase model (BG/NBD + Gamma-Gamma).

    A full run refits it, an incremental run reuses the latest fit, the on-demand single
    customer (`run=None`) only loads the latest fit; see `predictions.chunk_predictor`.
    """
    return chunk_predictor(venue=venue, as_of=as_of, run=run)


@dataclass
class _Progress:
    customers: int = 0
    events: int = 0
    # Seconds spent per phase, logged with the run so an operator sees what a run costs.
    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - started

    def phases_text(self) -> str:
        return ",".join(f"{name}:{seconds:.3f}" for name, seconds in self.phases.items())


def _profile_rows(
    facts: Sequence[CustomerFactsRow],
    *,
    venue: Venue,
    as_of: datetime,
    computed_at: datetime,
    predictor: ChunkPredictor | None,
) -> list[profile_store.ProfileRow]:
    """The profile rows of one chunk (same order as `facts`), ready for the store."""
    with _gc_paused():
        return list(
            _iter_profile_rows(
                facts, venue=venue, as_of=as_of, computed_at=computed_at, predictor=predictor
            )
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a chunk is computed.

    The loop allocates a few dozen acyclic objects per customer while holding the chunk's
    rows; the collector's repeated scans of those live rows cost as much as the rules
    themselves (measured: 30 µs a customer with it, 18 µs without). Reference counting still
    frees everything; the collector runs again after the chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _iter_profile_rows(
    facts: Sequence[CustomerFactsRow],
    *,
    venue: Venue,
    as_of: datetime,
    computed_at: datetime,
    predictor: ChunkPredictor | None,
) -> Iterator[profile_store.ProfileRow]:
    """The chunk's profile rows one by one: a full run streams them into COPY as they are
    computed, so the database indexes one row while Python computes the next."""
    thresholds = venue.segment_thresholds()
    slipping = venue.slipping_probability_alive
    predictions = predictor(facts) if predictor is not None else {}
    instants = (as_of, computed_at)
    no_prediction = (*_NO_PREDICTION.values(), *instants)
    # The hot loop of a full run (once per customer): keep it to the pure call and tuples.
    for customer_facts in facts:
        prediction = predictions.get(customer_facts.customer)
        if prediction is None:
            values = compute_profile(
                customer_facts, as_of=as_of, thresholds=thresholds, slipping_threshold=slipping
            )
            yield (*_profile_values(values), *no_prediction)
            continue
        values = compute_profile(
            customer_facts,
            as_of=as_of,
            thresholds=thresholds,
            probability_alive=prediction.get("probability_alive"),
            expected_purchases_30d=prediction.get("expected_purchases_30d"),
            slipping_threshold=slipping,
        )
        predicted = (prediction.get(name, default) for name, default in _NO_PREDICTION.items())
        yield (*_profile_values(values), *predicted, *instants)


def _facts_as_of(
    facts: Sequence[CustomerFactsRow], *, venue: Venue, as_of: datetime
) -> tuple[list[CustomerFactsRow], int]:
    """The chunk's facts restricted to events at or before `as_of`.

    Stored facts cover every event; only customers with an event after `as_of` are
    re-aggregated from the event log (with the cutoff). Returns the rows in customer order and
    the events read.
    """
    late = [row.customer for row in facts if row.last_seen > as_of]
    if not late:
        return list(facts), 0
    cut, events = facts_service.facts_for_customers(venue=venue, customers=late, cutoff=as_of)
    current = [row for row in facts if row.last_seen <= as_of]
    return sorted([*current, *cut], key=lambda row: row.customer), events


def _run_incremental(
    *,
    venue: Venue,
    as_of: datetime,
    run: RecomputeRun,
    progress: Callable[[int], None] | None,
    chunk_size: int,
) -> _Progress:
    done = _Progress()
    computed_at = timezone.now()
    changed = False
    predictor: ChunkPredictor | None = None
    # The snapshot moves by what the run replaces and writes; without one, the run counts.
    snapshot = SegmentSnapshot.objects.filter(venue=venue).first()
    removed = profile_store.SegmentTally()
    added = profile_store.SegmentTally()
    pending = facts_service.pending_take(venue=venue, chunk_size=chunk_size)
    while True:
        with done.phase("facts"):
            chunk = next(pending, None)
            if chunk is None:
                break
            customers = chunk.customers
            fresh, events = facts_service.facts_for_pending(venue=venue, chunk=chunk)
            facts, cut_events = _facts_as_of(fresh, venue=venue, as_of=as_of)
        if not changed:
            # Loaded only when there is work: an idle venue's run stays a single query.
            with done.phase("model"):
                predictor = _predictor_for(venue=venue, as_of=as_of, run=run)
            changed = True
        with done.phase("compute"):
            rows = _profile_rows(
                facts, venue=venue, as_of=as_of, computed_at=computed_at, predictor=predictor
            )
        with done.phase("write"):
            if snapshot is not None:
                counted = profile_store.counted_profiles(
                    venue=venue, customers=customers, snapshot=snapshot
                )
                removed.segments.update(counted.segments)
                removed.rfm_segments.update(counted.rfm_segments)
                rows = list(added.counted(rows))
            # A customer with no event at or before as-of has no profile as of then.
            kept = {row[profile_store.CUSTOMER_INDEX] for row in rows}
            profile_store.profiles_delete(
                venue=venue, customers=[c for c in customers if c not in kept]
            )
            profile_store.profiles_upsert(venue=venue, rows=rows)
        done.customers += len(rows)
        done.events += events + cut_events
        if progress is not None:
            progress(done.customers)
    if snapshot is None:
        with done.phase("snapshot"):
            profile_store.snapshot_recount(
                venue=venue, as_of=as_of, computed_at=computed_at, run=run
            )
    elif changed:
        with done.phase("snapshot"):
            profile_store.snapshot_adjust(
                venue=venue,
                snapshot=snapshot,
                removed=removed,
                added=added,
                as_of=as_of,
                computed_at=computed_at,
                run=run,
            )
    return done


def _run_full(
    *,
    venue: Venue,
    as_of: datetime,
    run: RecomputeRun,
    progress: Callable[[int], None] | None,
    chunk_size: int,
) -> _Progress:
    done = _Progress()
    with done.phase("pending"):
        stale = facts_service.stale_pending_count(venue=venue)
        if stale > REBUILD_PENDING_SHARE * facts_service.facts_count(venue=venue):
            # After a bulk load most customers' facts are stale: one grouped pass over the
            # event log beats looking each chunk's customers up in the index.
            facts_service.pending_clear(venue=venue)
            done.events += facts_service.facts_rebuild(venue=venue)
        else:
            # Facts that ingestion kept current are read with everyone else's below.
            for chunk in facts_service.pending_take(venue=venue, chunk_size=chunk_size):
                stale_customers = [c for c in chunk.customers if c not in chunk.facts_current]
                _fresh, events = facts_service.facts_refresh(venue=venue, customers=stale_customers)
                done.events += events
    computed_at = timezone.now()
    with done.phase("model"):
        predictor = _predictor_for(venue=venue, as_of=as_of, run=run)
    tally = profile_store.SegmentTally()
    with done.phase("clear"):
        profile_store.profiles_clear(venue=venue)
    chunks = facts_service.facts_iter_chunks(venue=venue, chunk_size=chunk_size)
    while True:
        with done.phase("read"):
            chunk = next(chunks, None)
            if chunk is None:
                break
            facts, events = _facts_as_of(chunk, venue=venue, as_of=as_of)
        with done.phase("profiles"), _gc_paused():
            rows = _iter_profile_rows(
                facts, venue=venue, as_of=as_of, computed_at=computed_at, predictor=predictor
            )
            written = profile_store.profiles_insert(venue=venue, rows=tally.counted(rows))
        done.customers += written
        done.events += events
        if progress is not None:
            progress(done.customers)
    with done.phase("analyze"):
        profile_store.profiles_analyze()
    with done.phase("snapshot"):
        profile_store.snapshot_store(
            venue=venue,
            segment_counts=tally.segments,
            rfm_segment_counts=tally.rfm_segments,
            as_of=as_of,
            computed_at=computed_at,
            run=run,
        )
    return done


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
    run.mode = mode
    run.status = RunStatus.RUNNING
    run.as_of = as_of
    run.started_at = timezone.now()
    run.error = ""
    run.save(update_fields=["mode", "status", "as_of", "started_at", "error"])
    started = time.monotonic()
    logger.info("recompute_started venue=%s run=%s mode=%s", venue.pk, run.pk, mode)
    execute = _run_full if mode == RunMode.FULL else _run_incremental
    try:
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


def compute_single_customer(
    *,
    venue: Venue,
    customer: str,
    as_of: datetime | None = None,
    store: bool = True,
) -> CustomerProfile | None:
    """Compute one customer's profile on demand (`customer` is a pseudonym) and store it.

    Returns None when the customer has no event at or before `as_of` (default now). Reads are
    never held up by a running recompute: the store is skipped while a run of the venue holds
    its lock (that run is about to write every profile anyway) and abandoned if a row lock is
    not granted within SINGLE_STORE_LOCK_TIMEOUT; the computed profile is then returned
    unsaved (`pk` is None). The customer's pending mark is left for the next incremental run,
    which also refreshes their stored facts. No run is recorded: this is a read path.
    """
    as_of = as_of or timezone.now()
    facts, _events = facts_service.facts_for_customers(
        venue=venue, customers=[customer], cutoff=as_of
    )
    if not facts:
        return None
    predictor = _predictor_for(venue=venue, as_of=as_of, run=None)
    row = _profile_rows(
        facts, venue=venue, as_of=as_of, computed_at=timezone.now(), predictor=predictor
    )[0]
    profile = profile_store.profile_instance(venue=venue, row=row)
    if not store:
        return profile
    return _store_single(profile)


def _store_single(profile: CustomerProfile) -> CustomerProfile:
    if connection.vendor != "postgresql":
        return profile_store.profile_upsert_one(profile=profile)
    # Inside a caller's transaction the settings below would outlive this store; restore them.
    nested = connection.in_atomic_block
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                previous_timeout = None
                if nested:
                    cursor.execute("SELECT current_setting('lock_timeout')")
                    previous_timeout = cursor.fetchone()[0]
                # The shared lock conflicts only with a run's exclusive session lock: free
                # unless a run of the venue is writing. The profile is a cache the next run
                # rebuilds, so its own commit need not wait for the WAL flush.
                settings = "set_config('lock_timeout', %s, true)"
                if not nested:
                    settings += ", set_config('synchronous_commit', 'off', true)"
                cursor.execute(
                    f"SELECT pg_try_advisory_xact_lock_shared(%s), {settings}",
                    [venue_lock_key(profile.venue_id), SINGLE_STORE_LOCK_TIMEOUT],
                )
                if not cursor.fetchone()[0]:
                    return profile
            stored = profile_store.profile_upsert_one(profile=profile)
            if previous_timeout is not None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)", [previous_timeout]
                    )
            return stored
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        logger.info("single_profile_store_skipped venue=%s reason=lock_timeout", profile.venue_id)
        profile.pk = None
        return profile
