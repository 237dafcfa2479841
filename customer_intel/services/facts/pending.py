"""Pending marks: the customers with events not yet reflected in their profile.

Ingestion writes a mark in the same transaction as the events (`facts_current` when it also
folded them into the customer's facts); a run takes the marks chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.db.bulk import rows_upsert
from customer_intel.db.expressions import TextIn
from customer_intel.models import PendingCustomer, Venue
from customer_intel.services.facts.store import facts_read, facts_refresh


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """Pending customers taken together, in key order, and those whose facts ingestion kept
    current (the others' facts must be refreshed from their events)."""

    customers: list[str]
    facts_current: frozenset[str]


def pending_mark(
    *, venue: Venue, customers: Iterable[str], now: datetime, facts_current: bool
) -> None:
    """Mark customers pending: their profile is behind their events.

    With `facts_current` the caller kept their facts current in the same transaction, and an
    existing mark keeps its own state (a mark left stale stays so until a run refreshes the
    facts); without, their facts are stale too and so becomes every existing mark. Marks are
    written in key order; pseudonyms are lowercase hex, so every collation agrees with the
    byte order in which ingestion locks them and two writers never wait on each other in
    opposite orders.
    """
    distinct = sorted(set(customers))
    rows_upsert(
        PendingCustomer,
        fields=("customer", "marked_at", "facts_current"),
        rows=[(customer, now, facts_current) for customer in distinct],
        fixed={"venue_id": venue.pk},
        unique=("venue_id", "customer"),
        update=("marked_at",) if facts_current else ("marked_at", "facts_current"),
    )


def pending_take(*, venue: Venue, chunk_size: int) -> Iterator[PendingChunk]:
    """Consume the venue's pending marks, `chunk_size` customers at a time, in key order.

    Each chunk's marks are deleted *before* the caller reads those customers' facts or events:
    an ingestion committing in between re-marks the customer (its ON CONFLICT waits for this
    transaction), so no event can be missed. Deleted marks reappear if the caller's
    transaction rolls back.
    """
    after = ""
    while True:
        # Keys first (locked, so no ingestion changes a mark between reading and deleting
        # it), then a delete of exactly those through the unique index. The marks table is a
        # queue whose size swings between nothing and a whole venue, so its statistics are
        # often wrong: as one statement (an IN subquery with the LIMIT) a plan made when the
        # table looked empty re-ran the LIMIT scan for every mark, 20 s for 10,000 marks
        # instead of 0.1 s.
        marks = list(
            PendingCustomer.objects.select_for_update()
            .filter(venue=venue, customer__gt=after)
            .order_by("customer")
            .values_list("customer", "facts_current")[:chunk_size]
        )
        if not marks:
            return
        customers = [customer for customer, _current in marks]
        PendingCustomer.objects.filter(TextIn("customer", customers), venue=venue).delete()
        after = customers[-1]
        yield PendingChunk(
            customers=customers,
            facts_current=frozenset(customer for customer, current in marks if current),
        )


def facts_for_pending(*, venue: Venue, chunk: PendingChunk) -> tuple[list[CustomerFactsRow], int]:
    """The current facts of a chunk of pending customers, in customer order, and the events
    read: stored rows where ingestion kept them current, a refresh from the events otherwise."""
    stale = [c for c in chunk.customers if c not in chunk.facts_current]
    refreshed, events = facts_refresh(venue=venue, customers=stale)
    if not chunk.facts_current:
        return refreshed, events
    current = facts_read(venue=venue, customers=sorted(chunk.facts_current))
    return sorted([*refreshed, *current], key=lambda row: row.customer), events


def stale_pending_count(*, venue: Venue) -> int:
    """How many pending customers have facts that ingestion did not keep current."""
    return PendingCustomer.objects.filter(venue=venue, facts_current=False).count()


def pending_clear(*, venue: Venue) -> None:
    """Delete every pending mark of the venue; the caller then rebuilds every customer's facts
    in the same transaction (see `pending_take` for why deleting first is safe)."""
    PendingCustomer.objects.filter(venue=venue).delete()
