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
based), so an interrupted import keeps the chunks it committed and simply runs again. The
stream prepares the next chunk in a thread (`event_stream.Producer`) while PostgreSQL works on
the current one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from customer_intel.db.statistics import tables_analyze
from customer_intel.models import (
    CustomerEvent,
    EventType,
    PendingCustomer,
    SuppressedCustomer,
    Venue,
)
from customer_intel.services import event_validation as rules
from customer_intel.services.csv_records import (
    CSV_COLUMNS,
    CsvImportSummary,
    CsvReader,
    CsvRejectedRow,
)
from customer_intel.services.event_stream import (
    EXTRA_COLUMNS,
    INSTANT,
    STAGING,
    CopyStream,
    Producer,
)

logger = logging.getLogger(__name__)

_EVENTS = CustomerEvent._meta.db_table
_PENDING = PendingCustomer._meta.db_table
_SUPPRESSED = SuppressedCustomer._meta.db_table
_STAGING = STAGING
_REFUNDERS = "event_import_refunders"
_REJECTED = "event_import_rejected"
_CREATE_STAGING = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (
    line integer NOT NULL,
    {", ".join(f'"{name}" text' for name in (*CSV_COLUMNS, *EXTRA_COLUMNS))}
)
"""
_CREATE_REFUNDERS = f"CREATE TEMPORARY TABLE IF NOT EXISTS {_REFUNDERS} (customer text PRIMARY KEY)"
_CREATE_REJECTED = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_REJECTED} (line integer, field text, message text)"
)

_OCCURRED = 's."occurredAt"'
_YEAR = f"substr({_OCCURRED}, 1, 4)::integer"
_DAY_EXISTS = f"""substr({_OCCURRED}, 9, 2)::integer <= CASE substr({_OCCURRED}, 6, 2)
    WHEN '02' THEN 28 + ({_YEAR} %% 4 = 0 AND ({_YEAR} %% 100 <> 0 OR {_YEAR} %% 400 = 0))::integer
    WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30 ELSE 31 END"""
# Each staged row with its parsed instant and amount (null where the text does not parse). An
# instant of another form was judged in the stream (see event_stream.INSTANT); SQL checks the
# form, and that the day exists, before the cast. OFFSET 0 keeps each subquery from being
# folded into the checks above it, which would evaluate each expression once per use instead
# of once per row.
_PARSED = f"""(
    SELECT t.*, CASE WHEN t.amount_text ~ %(amount)s THEN t.amount_text::numeric END AS amount_value
    FROM (
        SELECT s.*,
            -- Nested, not AND: PostgreSQL may evaluate AND's operands in either order.
            CASE WHEN {_OCCURRED} ~ %(instant)s THEN
                CASE WHEN {_DAY_EXISTS} THEN {_OCCURRED}::timestamptz END
            END AS occurred_at,
            btrim(s.amount, %(whitespace)s) AS amount_text
        FROM {_STAGING} s
        OFFSET 0
    ) t
    OFFSET 0
) s"""  # noqa: S608 - identifiers are constants; every value is a bound parameter


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
    WHEN btrim(s."eventId", %(whitespace)s) = '' THEN ARRAY['eventId', %(blank_message)s]
    {_optional_text("eventId", rules.MAX_EVENT_ID_LENGTH)}
    WHEN s.type <> ALL(%(types)s::text[]) THEN ARRAY['type', %(type_message)s]
    WHEN s.occurred_at IS NULL THEN ARRAY['occurredAt', %(date_time_message)s]
    WHEN s.occurred_at > %(latest)s THEN ARRAY['occurredAt', %(future_message)s]
    WHEN s.occurred_at < %(earliest)s THEN ARRAY['occurredAt', %(too_early_message)s]
    WHEN s.amount IS NOT NULL AND (length(s.amount) > {rules.MAX_AMOUNT_TEXT_LENGTH}
                                   OR s.amount_value IS NULL)
        THEN ARRAY['amount', %(amount_text_message)s]
    WHEN s.amount_text LIKE '-%%' THEN ARRAY['amount', %(negative_message)s]
    WHEN s.amount_value >= {rules.AMOUNT_LIMIT} THEN ARRAY['amount', %(amount_limit_message)s]
    WHEN s.amount_value <> round(s.amount_value, 2) THEN ARRAY['amount', %(amount_places_message)s]
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

# Every check runs once per row: the checked chunk is materialized, its rejected lines go to a
# table of their own (read back in line order through a cursor, so a chunk of bad rows is never
# held whole), and its valid rows are inserted. DISTINCT ON keeps a repeated eventId's first
# valid line, as the REST batch keeps its first occurrence, and hands the rows over in eventId
# order: concurrent writers that share events take their unique-index locks in one order (see
# ingestion). Pending marks are written as the REST batch writes them, with facts to be
# refreshed from the events by the next run.
_INSERT_SQL = f"""
WITH checked AS MATERIALIZED (
    SELECT s.line, s."eventId", s."customerId", s.type, s.quantity, s."eventCategory",
           s.channel, s.campaign, s.properties_json, s.occurred_at, s.amount_value,
           {_PROBLEM} AS problem
    FROM {_PARSED}
), rejected AS (
    INSERT INTO {_REJECTED} (line, field, message)
    SELECT line, problem[1], problem[2] FROM checked WHERE problem IS NOT NULL
    RETURNING 1
), valid AS (
    SELECT DISTINCT ON ("eventId" COLLATE "C")
        "eventId" AS event_id, "customerId" AS customer, type, occurred_at,
        amount_value AS amount, coalesce(quantity::integer, 1) AS quantity,
        coalesce("eventCategory", '') AS event_category,
        coalesce(channel, '') AS channel, coalesce(campaign, '') AS campaign,
        coalesce(properties_json, '{{}}')::jsonb AS properties
    FROM checked c
    WHERE problem IS NULL AND NOT EXISTS (
        SELECT 1 FROM {_SUPPRESSED} x WHERE x.venue_id = %(venue)s AND x.customer = c."customerId"
    )
    ORDER BY "eventId" COLLATE "C", line
), suppressed AS (
    -- Events of a customer erased with suppression are dropped and counted, as in the batch.
    SELECT count(*) AS n FROM checked c
    WHERE problem IS NULL AND EXISTS (
        SELECT 1 FROM {_SUPPRESSED} x WHERE x.venue_id = %(venue)s AND x.customer = c."customerId"
    )
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
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM rejected),
       (SELECT n FROM suppressed)
"""  # noqa: S608 - identifiers come from the models; every value is a bound parameter

_CELLS = ", ".join(f's."{name}"' for name in CSV_COLUMNS)
_REJECTED_SQL = f"""
SELECT r.line, r.field, r.message, {_CELLS}
FROM {_REJECTED} r JOIN {_STAGING} s USING (line)
ORDER BY r.line
"""  # noqa: S608 - identifiers are constants

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
    # One instant for the whole file: rows judged in the stream and in SQL meet one bound.
    now = timezone.now()
    params = _params(venue=venue, now=now)
    stream = CopyStream(venue=venue, header=reader.header)
    with connection.cursor() as cursor:
        for create in (_CREATE_STAGING, _CREATE_REFUNDERS, _CREATE_REJECTED):
            cursor.execute(create)
        cursor.execute(f"TRUNCATE {_REFUNDERS}")
    producer = Producer(stream=stream, records=iter(reader), chunk_rows=chunk_rows, now=now)
    try:
        while not producer.exhausted:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {_STAGING}, {_REJECTED}")
                # The chunk's sorts (DISTINCT ON, the marks) and checked rows stay in memory.
                cursor.execute("SET LOCAL work_mem = '256MB'")
                staged = 0
                with cursor.cursor.copy(stream.copy_sql) as copy:
                    for text, rows in producer.chunk():
                        copy.write(text)
                        staged += rows
                if not staged:
                    break
                summary.rows += staged
                cursor.execute(_INSERT_SQL, params)
                inserted, rejected, suppressed = cursor.fetchone()
                if rejected:
                    _report_rejected(reader.header, summary, on_rejected)
            summary.accepted += inserted
            summary.suppressed += suppressed
            summary.duplicates += staged - rejected - inserted - suppressed
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
    finally:
        producer.stop()
    with connection.cursor() as cursor:
        cursor.execute(_REFUNDS_EXCEEDING_SQL, params)
        summary.refunds_exceeding_purchases = cursor.fetchone()[0]
        cursor.execute(f"TRUNCATE {_STAGING}, {_REFUNDERS}, {_REJECTED}")
    if summary.accepted:
        # The planner's statistics of a table that just grew by a file's worth of events (and
        # of a marks queue that did) would send the next run down the wrong plans.
        tables_analyze(tables=[CustomerEvent, PendingCustomer])
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
        "instant": f"^{INSTANT}$",
        "whitespace": rules.WHITESPACE_CHARS,
        "amount": f"^{rules.AMOUNT_TEXT_PATTERN}$",
        "quantity": f"^{rules.QUANTITY_TEXT_PATTERN}$",
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
    header: list[str],
    summary: CsvImportSummary,
    on_rejected: Callable[[CsvRejectedRow], None] | None,
) -> None:
    """Hand the chunk's rejected rows over in line order.

    Read through a server-side cursor, so a chunk of nothing but bad rows is never held whole.
    """
    names = ["customerPseudonym" if name == "customerId" else name for name in CSV_COLUMNS]
    present = set(header) | {"customerPseudonym"}
    with connection.connection.cursor(name="event_import_rejected") as cursor:
        cursor.itersize = 2_000
        cursor.execute(_REJECTED_SQL)
        for line, field, message, *cells in cursor:
            summary.record_rejection(line)
            if on_rejected is not None:
                values = {
                    name: value
                    for name, value in zip(names, cells, strict=True)
                    if value and name in present
                }
                on_rejected(CsvRejectedRow(line, field, message, values))
