"""Storing validated events: one bulk, idempotent insert per batch, and the pending marks the
incremental recompute consumes, in the same transaction.

`eventId` is the idempotency key: an event already stored (or repeated earlier in the same
batch — the first occurrence wins) is skipped and counted as a duplicate, so a client can
replay a batch after a timeout without double counting.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from customer_intel.models import CustomerEvent, CustomerFacts, PendingCustomer, Venue
from customer_intel.services import facts as facts_service
from customer_intel.services.event_validation import (
    EVENT_FIELDS,
    REQUIRED_FIELDS,
    ValidatedEvent,
    validate_csv_records,
)
from customer_intel.services.server_bound import execute_server_bound
from customer_intel.services.statistics import tables_analyze

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
    """How many events of a batch were stored, and how many were already known."""

    accepted: int
    duplicates: int


def ingest_events(*, venue: Venue, events: Sequence[ValidatedEvent]) -> IngestResult:
    """Store a batch of validated events idempotently and mark their customers pending.

    Everything happens in one transaction: either the new events and their customers' pending
    marks are both stored, or neither is. Only customers with a newly stored event are marked.
    On PostgreSQL the same transaction folds the new events into their customers' facts, so a
    run reads a summary row per customer instead of rereading their events.
    """
    started = time.perf_counter()
    unique = _first_occurrences(events)
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            inserted = _insert_postgresql(venue=venue, events=unique, now=now)
            inserted_customers = [row[0] for row in inserted]
            # Marks before facts: a run holds marks while it rewrites facts, so taking locks
            # in this order never waits on a run in the opposite order.
            _mark_pending(venue=venue, customers=inserted_customers, now=now, facts_current=True)
            facts_service.facts_apply_events(venue=venue, events=inserted, now=now)
        else:
            inserted_customers = _insert_portable(venue=venue, events=unique, now=now)
            _mark_pending(venue=venue, customers=inserted_customers, now=now)
    result = IngestResult(
        accepted=len(inserted_customers), duplicates=len(events) - len(inserted_customers)
    )
    logger.info(
        "events_ingested venue=%s received=%d accepted=%d duplicates=%d duration_ms=%.1f",
        venue.pk,
        len(events),
        result.accepted,
        result.duplicates,
        (time.perf_counter() - started) * 1000,
    )
    return result


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
    return execute_server_bound(_INSERT_EVENTS_SQL, [venue.pk, now, *columns])


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


def _mark_pending(
    *, venue: Venue, customers: Sequence[str], now: datetime, facts_current: bool = False
) -> None:
    distinct = sorted(set(customers))
    if not distinct:
        return
    if connection.vendor == "postgresql":
        execute_server_bound(_MARK_PENDING_SQL, [venue.pk, now, facts_current, distinct])
        return
    PendingCustomer.objects.bulk_create(
        [PendingCustomer(venue=venue, customer=customer, marked_at=now) for customer in distinct],
        batch_size=_PORTABLE_CHUNK,
        update_conflicts=True,
        unique_fields=["venue", "customer"],
        update_fields=["marked_at"],
    )


# --- CSV import ------------------------------------------------------------------------------

CSV_COLUMNS = EVENT_FIELDS
REJECTED_LINES_SHOWN = 20


class CsvHeaderError(ValueError):
    """The file's header cannot be imported (missing, unknown or repeated columns)."""


@dataclass
class CsvRejectedRow:
    """A rejected CSV record: its first line number, the problem, and its cells by column.

    `cells` is empty when the record's columns do not line up with the header: the values
    cannot be attributed to columns, and one of them may be a raw customer id.
    """

    line: int
    field: str
    message: str
    cells: Mapping[str, str]


@dataclass
class CsvImportSummary:
    """What an import did: rows stored, rows already known, rows rejected (first lines)."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_lines: list[int] = field(default_factory=list)

    def record_rejection(self, line: int) -> None:
        self.rejected += 1
        if len(self.rejected_lines) < REJECTED_LINES_SHOWN:
            self.rejected_lines.append(line)


def events_import_csv(
    *,
    venue: Venue,
    lines: Iterable[str],
    batch_size: int,
    on_rejected: Callable[[CsvRejectedRow], None] | None = None,
    on_batch: Callable[[CsvImportSummary], None] | None = None,
) -> CsvImportSummary:
    """Import events from CSV text lines, `batch_size` records per transaction.

    Unlike the REST batch (all or nothing), a file import stores the valid rows of each batch
    and reports the invalid ones: re-running the fixed file is safe because stored events are
    skipped as duplicates. The header names the columns (any order; eventId, customerId, type
    and occurredAt required). Memory is bounded by the batch size, never the file size.
    """
    reader = csv.reader(lines)
    header = _csv_header(reader)
    summary = CsvImportSummary()
    records: list[dict[str, str]] = []
    record_lines: list[int] = []
    # Reported with the batch's validation errors, so rejections come out in line order.
    unreadable: list[CsvRejectedRow] = []
    last_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as problem:
            # csv's messages describe the syntax ("field larger than field limit"), not values.
            values, problem_message = None, f"is not valid CSV: {problem}"
        first_line, last_line = last_line + 1, reader.line_num
        if values == []:
            continue  # a blank line
        summary.rows += 1
        if values is None or len(values) != len(header):
            if values is not None:
                problem_message = f"has {len(values)} columns where the header has {len(header)}"
            unreadable.append(CsvRejectedRow(first_line, "line", problem_message, {}))
        else:
            records.append(dict(zip(header, values, strict=True)))
            record_lines.append(first_line)
        if len(records) + len(unreadable) >= batch_size:
            _import_csv_batch(venue, records, record_lines, unreadable, summary, on_rejected)
            records, record_lines, unreadable = [], [], []
            if on_batch is not None:
                on_batch(summary)
    if records or unreadable:
        _import_csv_batch(venue, records, record_lines, unreadable, summary, on_rejected)
        if on_batch is not None:
            on_batch(summary)
    tables_analyze(tables=[CustomerEvent, CustomerFacts, PendingCustomer])
    return summary


def _csv_header(reader: Iterator[list[str]]) -> list[str]:
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader)]
    except StopIteration:
        raise CsvHeaderError("the file is empty; expected a header line") from None
    unknown = sorted({name for name in header if name not in CSV_COLUMNS})
    if unknown:
        raise CsvHeaderError(
            f"unknown column(s): {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CsvHeaderError(f"repeated column(s): {', '.join(repeated)}")
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if missing:
        raise CsvHeaderError(f"missing required column(s): {', '.join(missing)}")
    return header


def _import_csv_batch(
    venue: Venue,
    records: list[dict[str, str]],
    record_lines: list[int],
    unreadable: list[CsvRejectedRow],
    summary: CsvImportSummary,
    on_rejected: Callable[[CsvRejectedRow], None] | None,
) -> None:
    events, errors = validate_csv_records(venue=venue, records=records, now=timezone.now())
    rejected = unreadable + [
        CsvRejectedRow(record_lines[e.index], e.field, e.message, records[e.index]) for e in errors
    ]
    for row in sorted(rejected, key=lambda row: row.line):
        summary.record_rejection(row.line)
        if on_rejected is not None:
            on_rejected(row)
    if events:
        result = ingest_events(venue=venue, events=events)
        summary.accepted += result.accepted
        summary.duplicates += result.duplicates
