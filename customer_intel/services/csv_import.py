"""Importing events from a CSV file: its records with their line numbers, the header rules, the
summary and the rejects file, and the path the rows take into the event log.

On PostgreSQL the file goes through COPY into a staging table and is validated and inserted
set-based (`event_copy`); on the embedded SQLite default, batch by batch through the REST
batch's validation and insert. Both give the same answer for the same file: rows, accepted,
duplicates, and each rejected row with its line, field and message.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customer_intel.models import CustomerEvent, EventType, Venue
from customer_intel.services.csv_records import (
    CSV_COLUMNS,
    CsvImportSummary,
    CsvReader,
    CsvRecord,
    CsvRejectedRow,
    rejected_cells,
)
from customer_intel.services.event_copy import events_copy
from customer_intel.services.event_validation import validate_csv_records
from customer_intel.services.ingestion import ingest_events, ingests_server_side

# The portable path holds a batch of validated events in memory; the REST batch's size is
# plenty for a file on the embedded default.
PORTABLE_BATCH_ROWS = 5_000
# Rejected rows keep their cells for the operator, except the raw customer id: its pseudonym is
# written instead, enough to find the customer's other events without storing the raw id.
REJECTS_COLUMNS = [
    "line",
    "field",
    "message",
    *("customerPseudonym" if name == "customerId" else name for name in CSV_COLUMNS),
]
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"),
# so such cells are written as text, as the search export does.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_REFUNDERS_PER_QUERY = 1_000


def events_import_csv(
    *,
    venue: Venue,
    source: Iterable[bytes],
    batch_size: int,
    on_rejected: Callable[[CsvRejectedRow], None] | None = None,
    on_batch: Callable[[CsvImportSummary], None] | None = None,
) -> CsvImportSummary:
    """Import events from the lines of a CSV file, `batch_size` records per transaction.

    Unlike the REST batch (all or nothing), a file import stores the valid rows of each batch
    and reports the invalid ones, in line order: re-running the fixed file, or a file whose
    import was interrupted, is safe because stored events are skipped as duplicates. The header
    names the columns (any order; eventId, customerId, type and occurredAt required). Memory is
    bounded by the batch size, never the file size. Raises CsvHeaderError for a bad header.
    """
    reader = CsvReader(source)
    if ingests_server_side():
        return events_copy(
            venue=venue,
            reader=reader,
            chunk_rows=batch_size,
            on_rejected=on_rejected,
            on_batch=on_batch,
        )
    return events_import_batched(
        venue=venue,
        reader=reader,
        batch_size=min(batch_size, PORTABLE_BATCH_ROWS),
        on_rejected=on_rejected,
        on_batch=on_batch,
    )


def events_import_batched(
    *,
    venue: Venue,
    reader: CsvReader,
    batch_size: int,
    on_rejected: Callable[[CsvRejectedRow], None] | None,
    on_batch: Callable[[CsvImportSummary], None] | None,
) -> CsvImportSummary:
    summary = CsvImportSummary()
    refunders: set[str] = set()
    batch: list[CsvRecord] = []
    for record in reader:
        summary.rows += 1
        batch.append(record)
        if len(batch) >= batch_size:
            _import_batch(venue, reader.header, batch, summary, refunders, on_rejected)
            batch = []
            if on_batch is not None:
                on_batch(summary)
    if batch:
        _import_batch(venue, reader.header, batch, summary, refunders, on_rejected)
        if on_batch is not None:
            on_batch(summary)
    summary.refunds_exceeding_purchases = refunds_exceeding_purchases_count(
        venue=venue, customers=sorted(refunders)
    )
    return summary


def _import_batch(
    venue: Venue,
    header: list[str],
    batch: list[CsvRecord],
    summary: CsvImportSummary,
    refunders: set[str],
    on_rejected: Callable[[CsvRejectedRow], None] | None,
) -> None:
    rejected: list[CsvRejectedRow] = []
    records: list[dict[str, str]] = []
    lines: list[int] = []
    for line, values, problem, _unstorable in batch:
        if values is None:
            rejected.append(CsvRejectedRow(line, "line", problem, {}))
        else:
            records.append(dict(zip(header, values, strict=True)))
            lines.append(line)
    events, errors = validate_csv_records(venue=venue, records=records, now=timezone.now())
    rejected.extend(
        CsvRejectedRow(lines[e.index], e.field, e.message, rejected_cells(records[e.index]))
        for e in errors
    )
    for row in sorted(rejected, key=lambda row: row.line):
        summary.record_rejection(row.line)
        if on_rejected is not None:
            on_rejected(row)
    if events:
        result = ingest_events(venue=venue, events=events)
        summary.accepted += result.accepted
        summary.duplicates += result.duplicates
        summary.suppressed += result.suppressed
        refunders.update(e.customer for e in events if e.type == EventType.TICKET_REFUNDED)


def refunds_exceeding_purchases_count(*, venue: Venue, customers: Sequence[str]) -> int:
    """How many of `customers` have refunds at the venue that exceed their purchases there.

    Such refunds are stored (a feed may deliver a refund before its purchase) but reported: the
    customer's totals are floored at zero until the purchase arrives.
    """
    refunded = Q(type=EventType.TICKET_REFUNDED)
    purchased = Q(type=EventType.TICKET_PURCHASED)
    money = DecimalField(max_digits=14, decimal_places=2)
    count = 0
    for start in range(0, len(customers), _REFUNDERS_PER_QUERY):
        count += (
            CustomerEvent.objects.filter(
                venue=venue, customer__in=customers[start : start + _REFUNDERS_PER_QUERY]
            )
            .values("customer")
            .annotate(
                refunded=Sum("amount", filter=refunded),
                purchased=Coalesce(Sum("amount", filter=purchased), Value(0), output_field=money),
            )
            .filter(refunded__gt=F("purchased"))
            .count()
        )
    return count


class RejectsFile:
    """The rejects CSV, opened on the first rejected row so a clean import writes nothing.

    Cells that a spreadsheet would run as a formula are written as text (a leading quote).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.TextIOWrapper | None = None
        self._writer: Any = None

    def write(self, rejected: CsvRejectedRow) -> None:
        if self._writer is None:
            self._file = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            self._writer.writerow(REJECTS_COLUMNS)
        cells = rejected.cells
        self._writer.writerow(
            [rejected.line, rejected.field, rejected.message]
            + [_as_text(cells.get(name, "")) for name in REJECTS_COLUMNS[3:]]
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _as_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value
