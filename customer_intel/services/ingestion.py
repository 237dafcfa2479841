"""Storing validated events: one bulk, idempotent insert per batch, and the pending marks the
incremental recompute consumes, in the same transaction.

`eventId` is the idempotency key: an event already stored (or repeated earlier in the same
batch — the first occurrence wins) is skipped and counted as a duplicate, so a client can
replay a batch after a timeout without double counting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from customer_intel.db.bulk import execute_binary
from customer_intel.models import CustomerEvent, PendingCustomer, Venue
from customer_intel.services import facts as facts_service
from customer_intel.services.event_validation import (
    ValidatedEvent,
)
from customer_intel.services.suppression import suppressed_pseudonyms

logger = logging.getLogger(__name__)

# The portable path's statements stay under SQLite's bound-variable limit.
_PORTABLE_CHUNK = 500

_EVENT_TABLE = CustomerEvent._meta.db_table
_PENDING_TABLE = PendingCustomer._meta.db_table

# ORDER BY makes every batch insert in event_id order, so two batches that share events take
# their unique-index locks in the same order: one waits for the other instead of deadlocking.
# The "C" collation sorts by code point, as Python does, and costs less than a locale's rules.
_INSERT_EVENTS_SQL = f"""
INSERT INTO {_EVENT_TABLE} (
    venue_id, event_id, customer, type, occurred_at, amount, quantity,
    event_category, channel, campaign, properties, received_at
)
SELECT %s, e.event_id, e.customer, e.type, e.occurred_at, e.amount, e.quantity,
       e.event_category, e.channel, e.campaign, e.properties::jsonb, %s
FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::numeric[], %s::integer[],
    %s::text[], %s::text[], %s::text[], %s::text[]
) AS e(event_id, customer, type, occurred_at, amount, quantity,
       event_category, channel, campaign, properties)
ORDER BY e.event_id COLLATE "C"
ON CONFLICT (venue_id, event_id) DO NOTHING
RETURNING customer, type, occurred_at, amount, quantity, event_category
"""  # noqa: S608 - table names come from the models, every value is a bound parameter

# DO UPDATE rather than DO NOTHING: it row-locks an existing mark, so a recompute deleting the
# mark concurrently either sees the new timestamp or runs after this commit. Sorted for the
# same lock-order reason as the events.
_MARK_PENDING_SQL = f"""
INSERT INTO {_PENDING_TABLE} AS p (venue_id, customer, marked_at, facts_current)
SELECT %s, c.customer, %s, %s
FROM unnest(%s::text[]) AS c(customer)
ORDER BY c.customer COLLATE "C"
ON CONFLICT (venue_id, customer) DO UPDATE SET
    marked_at = EXCLUDED.marked_at,
    -- A mark left by a bulk load (facts not kept) stays stale until a run refreshes them.
    facts_current = p.facts_current AND EXCLUDED.facts_current
"""  # noqa: S608 - table name comes from the model, every value is a bound parameter


@dataclass(frozen=True, slots=True)
class IngestResult:
    """How many events of a batch were stored, how many were already known, and how many were
    dropped because their customer is suppressed at the venue."""

    accepted: int
    duplicates: int
    suppressed: int = 0


def ingests_server_side() -> bool:
    """Whether ingestion stores events with hand-written, set-based SQL on the server.

    One of the two places where a service asks which database it is on (the other is
    `facts.store`, for rebuilding facts). On PostgreSQL an API batch is stored by one
    `INSERT … SELECT FROM unnest` that returns what it stored, folded into the customers'
    facts in the same transaction, so a run reads one summary row per customer instead of
    their events; a CSV import streams through COPY with set-based validation and one grouped
    facts pass (2.5 times the batch path's rows/s, bench/bench_import.py). The embedded SQLite
    default stores events through the ORM and leaves the facts to the run.
    """
    return connection.vendor == "postgresql"


def ingest_events(*, venue: Venue, events: Sequence[ValidatedEvent]) -> IngestResult:
    """Store a batch of validated events idempotently and mark their customers pending.

    Everything happens in one transaction: either the new events and their customers' pending
    marks are both stored, or neither is. Only customers with a newly stored event are marked.
    On PostgreSQL the same transaction folds the new events into their customers' facts, so a
    run reads a summary row per customer instead of rereading their events.
    """
    started = time.perf_counter()
    received = len(events)
    events = _without_suppressed(venue=venue, events=events)
    unique = _first_occurrences(events)
    now = timezone.now()
    with transaction.atomic():
        if ingests_server_side():
            inserted = _insert_postgresql(venue=venue, events=unique, now=now)
            inserted_customers = [row[0] for row in inserted]
            # Marks before facts: a run holds marks while it rewrites facts, so taking locks
            # in this order never waits on a run in the opposite order.
            distinct = sorted(set(inserted_customers))
            if distinct:
                execute_binary(_MARK_PENDING_SQL, [venue.pk, now, True, distinct])
            facts_service.facts_apply_events(venue=venue, events=inserted, now=now)
        else:
            inserted_customers = _insert_portable(venue=venue, events=unique, now=now)
            facts_service.pending_mark(
                venue=venue, customers=inserted_customers, now=now, facts_current=False
            )
    result = IngestResult(
        accepted=len(inserted_customers),
        duplicates=len(events) - len(inserted_customers),
        suppressed=received - len(events),
    )
    logger.info(
        "events_ingested venue=%s received=%d accepted=%d duplicates=%d suppressed=%d "
        "duration_ms=%.1f",
        venue.pk,
        received,
        result.accepted,
        result.duplicates,
        result.suppressed,
        (time.perf_counter() - started) * 1000,
    )
    return result


def _without_suppressed(
    *, venue: Venue, events: Sequence[ValidatedEvent]
) -> Sequence[ValidatedEvent]:
    """The batch without the events of customers suppressed at the venue (an erasure with
    suppression): they are dropped before anything is stored, and counted by the caller."""
    customers = {event.customer for event in events}
    suppressed = set(suppressed_pseudonyms(venue=venue).filter(customer__in=customers))
    if not suppressed:
        return events
    return [event for event in events if event.customer not in suppressed]


def _first_occurrences(events: Sequence[ValidatedEvent]) -> list[ValidatedEvent]:
    """The batch without repeated event ids (the first occurrence wins), sorted by event id."""
    by_event_id: dict[str, ValidatedEvent] = {}
    for event in events:
        by_event_id.setdefault(event.event_id, event)
    return [by_event_id[event_id] for event_id in sorted(by_event_id)]


def _insert_postgresql(
    *, venue: Venue, events: Sequence[ValidatedEvent], now: datetime
) -> list[tuple]:
    """One INSERT ... SELECT FROM unnest(...) for the whole batch; the rows actually inserted,
    as (customer, type, occurred_at, amount, quantity, event_category)."""
    if not events:
        return []
    columns: tuple[list, ...] = ([], [], [], [], [], [], [], [], [], [])
    (event_ids, customers, types, occurred, amounts, quantities, categories, channels,
     campaigns, properties) = columns  # fmt: skip
    for event in events:
        event_ids.append(event.event_id)
        customers.append(event.customer)
        types.append(event.type)
        occurred.append(event.occurred_at)
        amounts.append(event.amount)
        quantities.append(event.quantity)
        categories.append(event.event_category)
        channels.append(event.channel)
        campaigns.append(event.campaign)
        properties.append(event.properties_json)
    return execute_binary(_INSERT_EVENTS_SQL, [venue.pk, now, *columns])


def _insert_portable(*, venue: Venue, events: Sequence[ValidatedEvent], now: datetime) -> list[str]:
    """The embedded SQLite default: skip known event ids, then a bulk insert.

    SQLite lets one writer in at a time, so no concurrent batch can slip an event id in between
    the check and the insert; `ignore_conflicts` is the safety net all the same.
    """
    new_events: list[ValidatedEvent] = []
    for start in range(0, len(events), _PORTABLE_CHUNK):
        chunk = events[start : start + _PORTABLE_CHUNK]
        known = set(
            CustomerEvent.objects.filter(
                venue=venue, event_id__in=[event.event_id for event in chunk]
            ).values_list("event_id", flat=True)
        )
        new_events.extend(event for event in chunk if event.event_id not in known)
    CustomerEvent.objects.bulk_create(
        [
            CustomerEvent(
                venue=venue,
                event_id=event.event_id,
                customer=event.customer,
                type=event.type,
                occurred_at=event.occurred_at,
                amount=event.amount,
                quantity=event.quantity,
                event_category=event.event_category,
                channel=event.channel,
                campaign=event.campaign,
                properties=event.properties,
                received_at=now,
            )
            for event in new_events
        ],
        batch_size=_PORTABLE_CHUNK,
        ignore_conflicts=True,
    )
    return [event.customer for event in new_events]
