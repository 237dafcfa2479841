"""The two ways a run recomputes a venue: the changed customers, or all of them.

- Incremental: consumes the venue's pending marks chunk by chunk, brings those customers'
  facts up to date, recomputes and upserts their profiles, and moves the segment snapshot by
  what it replaced and wrote.
- Full: consumes the pending marks the same way (or, when most customers are pending,
  rebuilds every facts row in one grouped pass), fits the venue's purchase model, then
  replaces every profile of the venue from the facts table (summary rows, not the event log),
  streaming each chunk into the profile table and counting segments as it goes.

Both run inside the run's transaction (see `runs`), so readers see the previous profiles until
it commits and a worker killed mid-run leaves them intact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.db.statistics import tables_analyze
from customer_intel.models import CustomerProfile, RecomputeRun, SegmentSnapshot, Venue
from customer_intel.services import facts as facts_service
from customer_intel.services.recompute import profiles
from customer_intel.services.recompute.rows import (
    ChunkPredictor,
    gc_paused,
    iter_profile_rows,
    predictor_for,
    profile_rows,
)
from customer_intel.services.recompute.snapshot import (
    SegmentTally,
    counted_profiles,
    snapshot_adjust,
    snapshot_recount,
    snapshot_store,
)
from customer_intel.trends.flows import flows_capture_previous, flows_record

# A full run rebuilds every customer's facts in one pass when more than this share of them
# is pending (a first run, a bulk load), instead of refreshing the pending ones chunk by chunk.
REBUILD_PENDING_SHARE = 0.25


@dataclass
class Progress:
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


def facts_as_of(
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


def run_incremental(
    *,
    venue: Venue,
    as_of: datetime,
    run: RecomputeRun,
    progress: Callable[[int], None] | None,
    chunk_size: int,
) -> Progress:
    done = Progress()
    computed_at = timezone.now()
    changed = False
    predictor: ChunkPredictor | None = None
    # The snapshot moves by what the run replaces and writes; without one, the run counts.
    snapshot = SegmentSnapshot.objects.filter(venue=venue).first()
    removed = SegmentTally()
    added = SegmentTally()
    pending = facts_service.pending_take(venue=venue, chunk_size=chunk_size)
    while True:
        with done.phase("facts"):
            chunk = next(pending, None)
            if chunk is None:
                break
            customers = chunk.customers
            fresh, events = facts_service.facts_for_pending(venue=venue, chunk=chunk)
            facts, cut_events = facts_as_of(fresh, venue=venue, as_of=as_of)
        if not changed:
            # Loaded only when there is work: an idle venue's run stays a single query.
            with done.phase("model"):
                predictor = predictor_for(venue=venue, as_of=as_of, run=run)
            changed = True
        with done.phase("compute"):
            rows = profile_rows(
                facts, venue=venue, as_of=as_of, computed_at=computed_at, predictor=predictor
            )
        with done.phase("write"):
            if snapshot is not None:
                counted = counted_profiles(venue=venue, customers=customers, snapshot=snapshot)
                removed.segments.update(counted.segments)
                removed.rfm_segments.update(counted.rfm_segments)
                rows = list(added.counted(rows))
            # A customer with no event at or before as-of has no profile as of then.
            kept = {row[profiles.CUSTOMER_INDEX] for row in rows}
            profiles.profiles_delete(venue=venue, customers=[c for c in customers if c not in kept])
            profiles.profiles_upsert(venue=venue, rows=rows)
        done.customers += len(rows)
        done.events += events + cut_events
        if progress is not None:
            progress(done.customers)
    if snapshot is None:
        with done.phase("snapshot"):
            snapshot_recount(venue=venue, as_of=as_of, computed_at=computed_at, run=run)
    elif changed:
        with done.phase("snapshot"):
            snapshot_adjust(
                venue=venue,
                snapshot=snapshot,
                removed=removed,
                added=added,
                as_of=as_of,
                computed_at=computed_at,
                run=run,
            )
    return done


def run_full(
    *,
    venue: Venue,
    as_of: datetime,
    run: RecomputeRun,
    progress: Callable[[int], None] | None,
    chunk_size: int,
) -> Progress:
    done = Progress()
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
        predictor = predictor_for(venue=venue, as_of=as_of, run=run)
    tally = SegmentTally()
    with done.phase("flows"):
        flows_capture_previous(venue=venue)
    with done.phase("clear"):
        profiles.profiles_clear(venue=venue)
    chunks = facts_service.facts_iter_chunks(venue=venue, chunk_size=chunk_size)
    while True:
        with done.phase("read"):
            chunk = next(chunks, None)
            if chunk is None:
                break
            facts, events = facts_as_of(chunk, venue=venue, as_of=as_of)
        with done.phase("profiles"), gc_paused():
            rows = iter_profile_rows(
                facts, venue=venue, as_of=as_of, computed_at=computed_at, predictor=predictor
            )
            written = profiles.profiles_insert(
                venue=venue, rows=_with_full_run_segments(tally.counted(rows))
            )
        done.customers += written
        done.events += events
        if progress is not None:
            progress(done.customers)
    with done.phase("analyze"):
        # Until autovacuum gets to it the planner still sees the table as it was: after a
        # venue's first full run it took a million profiles for a few thousand and scanned the
        # whole venue for lookups of a few customers (1.4 s instead of 0.1 s for 10,000).
        tables_analyze(tables=[CustomerProfile])
    with done.phase("snapshot"):
        snapshot_store(
            venue=venue,
            segment_counts=tally.segments,
            rfm_segment_counts=tally.rfm_segments,
            as_of=as_of,
            computed_at=computed_at,
            run=run,
        )
    with done.phase("flows"):
        flows_record(
            venue=venue,
            run=run,
            as_of=as_of,
            segment_counts=tally.segments,
            rfm_segment_counts=tally.rfm_segments,
        )
    return done


def _with_full_run_segments(rows: Iterator[profiles.ProfileRow]) -> Iterator[profiles.ProfileRow]:
    """A full run's rows carry their segments as the full-run segments too."""
    segment, rfm_segment = profiles.SEGMENT_INDEX, profiles.RFM_SEGMENT_INDEX
    for row in rows:
        yield (*row[:-2], row[segment], row[rfm_segment])
