"""The bulk path of a CSV import on PostgreSQL: COPY into a staging table, the REST batch's
rules checked set-based in SQL, one `INSERT … SELECT … ON CONFLICT DO NOTHING` per chunk.

Raw customer ids never reach the database: each record's customerId is checked and replaced by
its pseudonym in Python, in the stream that feeds COPY. Hashing inside the database would put
the HMAC key into the session's statements and the raw ids into the staging table, which
PostgreSQL writes to temporary files once it outgrows `temp_buffers`.

The other rules run in SQL over the whole chunk. Where SQL could not judge a row exactly as the
Python validator does (an `occurredAt` in another ISO-8601 form than the usual
`2026-01-31T20:00:00Z`, a currency outside ASCII, NUL or bytes that are not UTF-8, an invalid
customer id, an oversized properties cell) the stream runs the REST batch's validator on that
row and stages it already judged; `properties` JSON is always checked in Python, whose rules
(NaN, escapes, the size re-serialized) it follows. A parity test holds both paths to the same
answer on a file with every kind of bad row.

Each chunk is one transaction: its valid rows are stored and their customers marked pending
with facts to refresh (the next run rebuilds those customers' facts from their events, set
based), so an interrupted import keeps the chunks it committed and simply runs again.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from customer_intel.models import CustomerEvent, EventType, PendingCustomer, Venue
from customer_intel.privacy import pseudonymize
from customer_intel.services import event_validation as rules
from customer_intel.services.csv_records import (
    CSV_COLUMNS,
    CsvImportSummary,
    CsvReader,
    CsvRecord,
    CsvRejectedRow,
    rejected_cells,
)

logger = logging.getLogger(__name__)

_EVENTS = CustomerEvent._meta.db_table
_PENDING = PendingCustomer._meta.db_table
_STAGING = "event_import_staging"
_REFUNDERS = "event_import_refunders"
# Rows handed to COPY per write: large enough to amortize the call, small enough to stay cheap.
_ROWS_PER_WRITE = 2_000
# Raw id → pseudonym for repeat customers; cleared when full, so memory stays bounded.
_PSEUDONYM_CACHE_SIZE = 200_000
# The instants SQL parses exactly as datetime.fromisoformat does (checked against it by test);
# day-of-month validity is checked in SQL.
_INSTANT = (
    r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-5]):[0-5][0-9])"
)
_INSTANT_RE = re.compile(_INSTANT)
_CUSTOMER_PROBLEM = re.compile(f"[{rules.CONTROL_CHARS}\ud800-\udfff]")

_EXTRA_COLUMNS = ("properties_json", "properties_problem", "problem_field", "problem_message")
_CREATE_STAGING = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (
    line integer NOT NULL,
    {", ".join(f'"{name}" text' for name in (*CSV_COLUMNS, *_EXTRA_COLUMNS))}
)
"""
_CREATE_REFUNDERS = f"CREATE TEMPORARY TABLE IF NOT EXISTS {_REFUNDERS} (customer text PRIMARY KEY)"

_OCCURRED = 's."occurredAt"'
_YEAR = f"substr({_OCCURRED}, 1, 4)::integer"
_DAY_EXISTS = f"""substr({_OCCURRED}, 9, 2)::integer <= CASE substr({_OCCURRED}, 6, 2)
    WHEN '02' THEN 28 + ({_YEAR} %% 4 = 0 AND ({_YEAR} %% 100 <> 0 OR {_YEAR} %% 400 = 0))::integer
    WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30 ELSE 31 END"""
# Each staged row with its parsed instant and amount (null where the text does not parse).
_PARSED = f"""{_STAGING} s CROSS JOIN LATERAL (
    -- Nested, not AND: PostgreSQL may evaluate AND's operands in either order.
    SELECT CASE WHEN {_OCCURRED} ~ %(instant)s THEN
                CASE WHEN {_DAY_EXISTS} THEN {_OCCURRED}::timestamptz END
           END AS occurred_at,
           substring(s.amount FROM %(amount)s) AS amount_text,
           substring(s.amount FROM %(amount)s)::numeric AS amount
) p"""  # noqa: S608 - identifiers are constants; every value is a bound parameter


def _optional_text(column: str, max_length: int) -> str:
    return f"""
    WHEN length(s."{column}") > {max_length} THEN ARRAY['{column}', %(too_long_{column})s]
    WHEN s."{column}" ~ %(control)s THEN ARRAY['{column}', %(control_message)s]"""


# The first problem of each row, in the order the Python validator checks its fields; null for
# a valid row. customerId was checked in the stream.
_PROBLEM = f"""CASE
    WHEN s.problem_field IS NOT NULL THEN ARRAY[s.problem_field, s.problem_message]
    WHEN s."eventId" IS NULL THEN ARRAY['eventId', %(required)s]
    WHEN s.type IS NULL THEN ARRAY['type', %(required)s]
    WHEN s."eventId" ~ %(blank)s THEN ARRAY['eventId', %(blank_message)s]
    {_optional_text("eventId", rules.MAX_EVENT_ID_LENGTH)}
    WHEN s.type <> ALL(%(types)s::text[]) THEN ARRAY['type', %(type_message)s]
    WHEN p.occurred_at IS NULL THEN ARRAY['occurredAt', %(date_time_message)s]
    WHEN p.occurred_at > %(latest)s THEN ARRAY['occurredAt', %(future_message)s]
    WHEN p.occurred_at < %(earliest)s THEN ARRAY['occurredAt', %(too_early_message)s]
    WHEN s.amount IS NOT NULL AND (length(s.amount) > {rules.MAX_AMOUNT_TEXT_LENGTH}
                                   OR p.amount IS NULL)
        THEN ARRAY['amount', %(amount_text_message)s]
    WHEN p.amount_text LIKE '-%%' THEN ARRAY['amount', %(negative_message)s]
    WHEN p.amount >= {rules.AMOUNT_LIMIT} THEN ARRAY['amount', %(amount_limit_message)s]
    WHEN p.amount <> round(p.amount, 2) THEN ARRAY['amount', %(amount_places_message)s]
    WHEN s.amount IS NULL AND s.type = ANY(%(paying)s::text[])
        THEN ARRAY['amount', %(amount_required)s || s.type]
    WHEN s.quantity !~ %(quantity)s THEN ARRAY['quantity', %(integer_message)s]
    WHEN s.quantity::integer NOT BETWEEN 1 AND {rules.MAX_QUANTITY}
        THEN ARRAY['quantity', %(quantity_range_message)s]
    WHEN length(s.currency) > {rules.MAX_CURRENCY_LENGTH}
         OR upper(s.currency COLLATE "C") <> %(currency)s
        THEN ARRAY['currency', %(currency_message)s]
    {_optional_text("eventCategory", rules.MAX_EVENT_CATEGORY_LENGTH)}
    {_optional_text("channel", rules.MAX_CHANNEL_LENGTH)}
    {_optional_text("campaign", rules.MAX_CAMPAIGN_LENGTH)}
    WHEN s.properties_problem IS NOT NULL THEN ARRAY['properties', s.properties_problem]
END"""

_CELLS = ", ".join(f's."{name}"' for name in CSV_COLUMNS)
_REJECTED_SQL = f"""
SELECT s.line, problem[1], problem[2], {_CELLS}
FROM (SELECT s.*, {_PROBLEM} AS problem FROM {_PARSED}) s
WHERE problem IS NOT NULL
ORDER BY s.line
"""  # noqa: S608 - identifiers are constants; every value is a bound parameter

# DISTINCT ON keeps a repeated eventId's first valid line, as the REST batch keeps its first
# occurrence, and hands the rows over in eventId order: concurrent writers that share events
# take their unique-index locks in one order (see ingestion). Pending marks are written as the
# REST batch writes them, with facts to be refreshed from the events by the next run.
_INSERT_SQL = f"""
WITH valid AS (
    SELECT DISTINCT ON (s."eventId" COLLATE "C")
        s."eventId" AS event_id, s."customerId" AS customer, s.type, p.occurred_at, p.amount,
        coalesce(s.quantity::integer, 1) AS quantity,
        coalesce(s."eventCategory", '') AS event_category,
        coalesce(s.channel, '') AS channel, coalesce(s.campaign, '') AS campaign,
        coalesce(s.properties_json, '{{}}')::jsonb AS properties
    FROM {_PARSED}
    WHERE ({_PROBLEM}) IS NULL
    ORDER BY s."eventId" COLLATE "C", s.line
), inserted AS (
    INSERT INTO {_EVENTS} (
        venue_id, event_id, customer, type, occurred_at, amount, quantity,
        event_category, channel, campaign, properties, received_at
    )
    SELECT %(venue)s, event_id, customer, type, occurred_at, amount, quantity,
           event_category, channel, campaign, properties, %(now)s
    FROM valid
    ON CONFLICT (venue_id, event_id) DO NOTHING
    RETURNING customer
), marked AS (
    INSERT INTO {_PENDING} AS m (venue_id, customer, marked_at, facts_current)
    SELECT %(venue)s, c.customer, %(now)s, false
    FROM (SELECT DISTINCT customer FROM inserted) c
    ORDER BY c.customer COLLATE "C"
    ON CONFLICT (venue_id, customer) DO UPDATE SET
        marked_at = EXCLUDED.marked_at, facts_current = false
), refunders AS (
    INSERT INTO {_REFUNDERS} (customer)
    SELECT DISTINCT customer FROM valid WHERE type = %(refunded)s
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM inserted
"""  # noqa: S608 - identifiers come from the models; every value is a bound parameter

_REFUNDS_EXCEEDING_SQL = f"""
SELECT count(*) FROM {_REFUNDERS} r
WHERE (
    SELECT sum(e.amount) FILTER (WHERE e.type = %(refunded)s)
           > coalesce(sum(e.amount) FILTER (WHERE e.type = %(purchased)s), 0)
    FROM {_EVENTS} e WHERE e.venue_id = %(venue)s AND e.customer = r.customer
)
"""  # noqa: S608 - identifiers come from the models; every value is a bound parameter


def events_copy(
    *,
    venue: Venue,
    reader: CsvReader,
    chunk_rows: int,
    on_rejected: Callable[[CsvRejectedRow], None] | None = None,
    on_batch: Callable[[CsvImportSummary], None] | None = None,
) -> CsvImportSummary:
    """Import the reader's records, `chunk_rows` per transaction (see the module docstring)."""
    summary = CsvImportSummary()
    stream = _Stream(venue=venue, header=reader.header)
    records = iter(reader)
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_STAGING)
        cursor.execute(_CREATE_REFUNDERS)
        cursor.execute(f"TRUNCATE {_REFUNDERS}")
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            now = timezone.now()
            params = _params(venue=venue, now=now)
            cursor.execute(f"TRUNCATE {_STAGING}")
            # The chunk's sorts (DISTINCT ON, the marks) stay in memory.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            staged = stream.copy(cursor, itertools.islice(records, chunk_rows), now)
            if not staged:
                break
            summary.rows += staged
            rejected = _report_rejected(params, reader.header, summary, on_rejected)
            cursor.execute(_INSERT_SQL, params)
            inserted = cursor.fetchone()[0]
        summary.accepted += inserted
        summary.duplicates += staged - rejected - inserted
        logger.info(
            "events_import_chunk venue=%s rows=%d accepted=%d duplicates=%d rejected=%d",
            venue.pk,
            staged,
            inserted,
            staged - rejected - inserted,
            rejected,
        )
        if on_batch is not None:
            on_batch(summary)
        if staged < chunk_rows:
            break
    with connection.cursor() as cursor:
        cursor.execute(_REFUNDS_EXCEEDING_SQL, _params(venue=venue, now=timezone.now()))
        summary.refunds_exceeding_purchases = cursor.fetchone()[0]
        cursor.execute(f"TRUNCATE {_STAGING}, {_REFUNDERS}")
        if summary.accepted:
            # The planner's statistics of a table that just grew by a file's worth of events
            # (and of a marks queue that did) would send the next run down the wrong plans.
            cursor.execute(f"ANALYZE {_EVENTS}")
            cursor.execute(f"ANALYZE {_PENDING}")
    return summary


def _params(*, venue: Venue, now: datetime) -> dict[str, Any]:
    venue_currency = venue.currency.upper()
    params: dict[str, Any] = {
        "venue": venue.pk,
        "now": now,
        "latest": now + settings.INGEST_MAX_FUTURE,
        "earliest": rules.EARLIEST_OCCURRED_AT,
        "types": sorted(rules.EVENT_TYPES),
        "paying": sorted(rules.PAYING_TYPES),
        "refunded": EventType.TICKET_REFUNDED.value,
        "purchased": EventType.TICKET_PURCHASED.value,
        "currency": venue_currency,
        "instant": f"^{_INSTANT}$",
        "amount": f"^[{rules.WHITESPACE_CHARS}]*({rules.AMOUNT_TEXT_PATTERN})"
        f"[{rules.WHITESPACE_CHARS}]*$",
        "quantity": f"^{rules.QUANTITY_TEXT_PATTERN}$",
        "blank": f"^[{rules.WHITESPACE_CHARS}]+$",
        # NUL cannot reach PostgreSQL text, nor this pattern.
        "control": f"[\x01{rules.CONTROL_CHARS.removeprefix(chr(0))}]",
        "required": rules.REQUIRED_MESSAGE,
        "blank_message": rules.BLANK_MESSAGE,
        "control_message": rules.CONTROL_CHARS_MESSAGE,
        "type_message": rules.TYPE_MESSAGE,
        "date_time_message": rules.DATE_TIME_MESSAGE,
        "future_message": rules.future_message(settings.INGEST_MAX_FUTURE),
        "too_early_message": rules.TOO_EARLY_MESSAGE,
        "amount_text_message": rules.AMOUNT_TEXT_MESSAGE,
        "negative_message": rules.NEGATIVE_MESSAGE,
        "amount_limit_message": rules.AMOUNT_LIMIT_MESSAGE,
        "amount_places_message": rules.AMOUNT_PLACES_MESSAGE,
        "amount_required": rules.amount_required_message(""),
        "integer_message": rules.INTEGER_MESSAGE,
        "quantity_range_message": rules.QUANTITY_RANGE_MESSAGE,
        "currency_message": rules.currency_message(venue_currency),
    }
    for column, max_length in (
        ("eventId", rules.MAX_EVENT_ID_LENGTH),
        ("eventCategory", rules.MAX_EVENT_CATEGORY_LENGTH),
        ("channel", rules.MAX_CHANNEL_LENGTH),
        ("campaign", rules.MAX_CAMPAIGN_LENGTH),
    ):
        params[f"too_long_{column}"] = rules.too_long_message(max_length)
    return params


def _report_rejected(
    params: dict[str, Any],
    header: list[str],
    summary: CsvImportSummary,
    on_rejected: Callable[[CsvRejectedRow], None] | None,
) -> int:
    """Hand the chunk's rejected rows over in line order; their number.

    Read through a server-side cursor, so a chunk of nothing but bad rows is never held whole.
    """
    names = ["customerPseudonym" if name == "customerId" else name for name in CSV_COLUMNS]
    present = set(header) | {"customerPseudonym"}
    rejected = 0
    with connection.connection.cursor(name="event_import_rejected") as cursor:
        cursor.itersize = 2_000
        cursor.execute(_REJECTED_SQL, params)
        for line, field, message, *cells in cursor:
            rejected += 1
            summary.record_rejection(line)
            if on_rejected is not None:
                values = {
                    name: value
                    for name, value in zip(names, cells, strict=True)
                    if value and name in present
                }
                on_rejected(CsvRejectedRow(line, field, message, values))
    return rejected


class _Stream:
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
        columns = ", ".join(f'"{name}"' for name in (*header, *_EXTRA_COLUMNS))
        self._copy_sql = f"COPY {_STAGING} (line, {columns}) FROM STDIN (FORMAT csv)"

    def copy(self, cursor: Any, records: Iterator[CsvRecord], now: datetime) -> int:
        """COPY the records into the staging table; how many there were."""
        staged = 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        with cursor.cursor.copy(self._copy_sql) as copy:
            while rows := [
                self._row(record, now) for record in itertools.islice(records, _ROWS_PER_WRITE)
            ]:
                writer.writerows(rows)
                copy.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
                staged += len(rows)
        return staged

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
        and len(raw_id) <= rules.MAX_CUSTOMER_ID_LENGTH
        and not _CUSTOMER_PROBLEM.search(raw_id)
    )
