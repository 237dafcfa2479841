"""The Python half of a file import's bulk path: records turned into the staging table's COPY
text, in a thread of its own.

Each record's customerId is checked and replaced by its pseudonym here, before anything reaches
PostgreSQL (see `event_copy` for why not in the database). Records whose form SQL could not
judge exactly as the Python validator does are judged here by that validator and staged with
their verdict.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import queue
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from customer_intel.analytics.vocabulary import MAX_CUSTOMER_ID_LENGTH
from customer_intel.models import Venue
from customer_intel.privacy import pseudonymize
from customer_intel.services import event_validation as rules
from customer_intel.services.csv_records import CsvRecord, rejected_cells

STAGING = "event_import_staging"
# Staging columns after the file's own: the JSON to store, the properties' problem, and the
# verdict of a row judged in the stream.
EXTRA_COLUMNS = ("properties_json", "properties_problem", "problem_field", "problem_message")

# Rows handed to COPY per write: large enough to amortize the call, small enough to stay cheap.
_ROWS_PER_WRITE = 2_000
# Raw id → pseudonym for repeat customers; cleared when full, so memory stays bounded.
_PSEUDONYM_CACHE_SIZE = 200_000
# The instants SQL parses exactly as datetime.fromisoformat does (checked against it by test);
# day-of-month validity is checked in SQL.
INSTANT = (
    r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-5]):[0-5][0-9])"
)
_INSTANT_RE = re.compile(INSTANT)
_CUSTOMER_PROBLEM = re.compile(f"[{rules.CONTROL_CHARS}\ud800-\udfff]")


class CopyStream:
    """Turns records into staging rows: the customer id hashed, the rows SQL cannot judge
    judged by the Python validator (see the module docstring)."""

    def __init__(self, *, venue: Venue, header: list[str]) -> None:
        self._venue = venue
        self._header = header
        self._customer = header.index("customerId")
        self._occurred = header.index("occurredAt")
        self._currency = header.index("currency") if "currency" in header else -1
        self._properties = header.index("properties") if "properties" in header else -1
        self._pseudonyms: dict[str, str] = {}
        columns = ", ".join(f'"{name}"' for name in (*header, *EXTRA_COLUMNS))
        self.copy_sql = f"COPY {STAGING} (line, {columns}) FROM STDIN (FORMAT csv)"

    def blocks(
        self, records: Iterator[CsvRecord], limit: int, now: datetime
    ) -> Iterator[tuple[str, int]]:
        """Up to `limit` records as COPY text, a block of rows at a time, with its row count."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        left = limit
        while left and (part := list(itertools.islice(records, min(left, _ROWS_PER_WRITE)))):
            writer.writerows([self._row(record, now) for record in part])
            yield buffer.getvalue(), len(part)
            buffer.seek(0)
            buffer.truncate()
            left -= len(part)

    def _row(self, record: CsvRecord, now: datetime) -> list[Any]:
        line, values, problem, unstorable = record
        if values is None:
            return [line, *([""] * len(self._header)), "", "", "line", problem]
        raw_id = values[self._customer]
        pseudonym = self._pseudonyms.get(raw_id)
        if pseudonym is None and not unstorable and _customer_id_valid(raw_id):
            pseudonym = pseudonymize(raw_id)
            if len(self._pseudonyms) >= _PSEUDONYM_CACHE_SIZE:
                self._pseudonyms.clear()
            self._pseudonyms[raw_id] = pseudonym
        if (
            pseudonym is None
            or unstorable
            or not _INSTANT_RE.fullmatch(values[self._occurred])
            or (self._currency >= 0 and not values[self._currency].isascii())
            or (
                self._properties >= 0 and len(values[self._properties]) > rules.MAX_PROPERTIES_BYTES
            )
        ):
            return self._judged(line, values, now)
        values[self._customer] = pseudonym
        properties_json = properties_problem = None
        if self._properties >= 0 and values[self._properties]:
            properties_json, properties_problem = rules.csv_properties_json(
                values[self._properties]
            )
        return [line, *values, properties_json, properties_problem, None, None]

    def _judged(self, line: int, values: list[str], now: datetime) -> list[Any]:
        """A staging row judged by the Python validator: its first problem, or the event in
        forms the SQL checks accept as they stand."""
        record = dict(zip(self._header, values, strict=True))
        events, errors = rules.validate_csv_records(venue=self._venue, records=[record], now=now)
        if errors:
            cells = rejected_cells(record)
            cells["customerId"] = cells.pop("customerPseudonym", "")
            staged = [cells.get(name, "") for name in self._header]
            return [line, *staged, None, None, errors[0].field, errors[0].message]
        event = events[0]
        normalized = {
            "eventId": event.event_id,
            "customerId": event.customer,
            "type": event.type,
            "occurredAt": event.occurred_at.isoformat(),
            "amount": None if event.amount is None else str(event.amount),
            "quantity": str(event.quantity),
            "currency": None,
            "eventCategory": event.event_category,
            "channel": event.channel,
            "campaign": event.campaign,
            "properties": None,
        }
        staged = [normalized[name] for name in self._header]
        return [line, *staged, event.properties_json, None, None, None]


def _customer_id_valid(raw_id: str) -> bool:
    """What the Python validator asks of a customer id, asked once per distinct id."""
    return (
        bool(raw_id.strip())
        and len(raw_id) <= MAX_CUSTOMER_ID_LENGTH
        and not _CUSTOMER_PROBLEM.search(raw_id)
    )


class Producer:
    """Prepares the COPY text of the next chunk in a thread while PostgreSQL checks and inserts
    the current one: on two cores the stream's Python work then overlaps the database's
    instead of adding to it. At most about one chunk of text waits in the queue."""

    _END_OF_CHUNK = object()
    _END_OF_FILE = object()

    def __init__(
        self, *, stream: CopyStream, records: Iterator[CsvRecord], chunk_rows: int, now: datetime
    ) -> None:
        self.exhausted = False
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=chunk_rows // _ROWS_PER_WRITE + 2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(stream, records, chunk_rows, now), daemon=True
        )
        self._thread.start()

    def chunk(self) -> Iterator[tuple[str, int]]:
        """The next chunk's blocks; raises what the stream raised (a read error, say)."""
        while True:
            item = self._queue.get()
            if item is self._END_OF_CHUNK:
                return
            if item is self._END_OF_FILE:
                self.exhausted = True
                return
            if isinstance(item, BaseException):
                self.exhausted = True
                raise item
            yield item

    def stop(self) -> None:
        self._stopping.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.1)
        self._thread.join()

    def _run(
        self, stream: CopyStream, records: Iterator[CsvRecord], chunk_rows: int, now: datetime
    ) -> None:
        try:
            while True:
                rows = 0
                for block in stream.blocks(records, chunk_rows, now):
                    if not self._put(block):
                        return
                    rows += block[1]
                if rows < chunk_rows:
                    self._put(self._END_OF_FILE)
                    return
                if not self._put(self._END_OF_CHUNK):
                    return
        except BaseException as problem:  # handed to the importing thread, which raises it
            self._put(problem)

    def _put(self, item: Any) -> bool:
        while not self._stopping.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.1)
                return True
        return False
