"""Writing computed profiles and the venue's segment snapshot.

On PostgreSQL, profiles go in with COPY in the unique key's order: straight into the profile
table after a full run's DELETE, or through a temporary table and one
`INSERT … ON CONFLICT DO UPDATE` for an incremental run's changed customers. Elsewhere the ORM
writes the same rows with `bulk_create`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Count
from psycopg.types.json import set_json_dumps

from customer_intel.analytics.predictive.outputs import PREDICTION_FIELDS
from customer_intel.analytics.profile import ProfileValues
from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.models import CustomerProfile, RecomputeRun, SegmentSnapshot, Venue

logger = logging.getLogger(__name__)

_PROFILES = CustomerProfile._meta.db_table

# A profile row is a tuple in this order: the computed values, the predictions, the instants.
VALUE_FIELDS: tuple[str, ...] = tuple(ProfileValues.__dataclass_fields__)
WRITE_FIELDS: tuple[str, ...] = (*VALUE_FIELDS, *PREDICTION_FIELDS, "as_of", "computed_at")
CUSTOMER_INDEX = WRITE_FIELDS.index("customer")
SEGMENT_INDEX = WRITE_FIELDS.index("segment")
RFM_SEGMENT_INDEX = WRITE_FIELDS.index("rfm_segment")

_MODEL_FIELDS = {
    field.name: field
    for field in CustomerProfile._meta.concrete_fields
    if field.name not in {"id", "venue"}
}
if set(WRITE_FIELDS) != set(_MODEL_FIELDS):
    raise ImproperlyConfigured(
        "CustomerProfile columns and the engine's profile row disagree: "
        f"{sorted(set(WRITE_FIELDS) ^ set(_MODEL_FIELDS))}"
    )
_COLUMNS = ", ".join(["venue_id", *(_MODEL_FIELDS[name].column for name in WRITE_FIELDS)])
_UNIQUE_KEY = {"customer"}
_UPDATE_FIELDS = [name for name in WRITE_FIELDS if name not in _UNIQUE_KEY]

# One encoder for the whole run: json.dumps(cls=...) would build a new one per value.
_encode_json = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, default=DjangoJSONEncoder().default
).encode

ProfileRow = tuple[Any, ...]


def profile_instance(*, venue: Venue, row: ProfileRow) -> CustomerProfile:
    """An unsaved CustomerProfile from a profile row."""
    return CustomerProfile(venue=venue, **dict(zip(WRITE_FIELDS, row, strict=True)))


_copy_types: list[str] = []


def _column_types() -> list[str]:
    """The database types of the COPY columns, for binary COPY (read once per process)."""
    if not _copy_types:
        names = ["venue_id", *(_MODEL_FIELDS[name].column for name in WRITE_FIELDS)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid::regtype::text FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [_PROFILES],
            )
            types = dict(cursor.fetchall())
        _copy_types.extend(types[name] for name in names)
    return _copy_types


def _copy(table: str, venue: Venue, rows: Iterable[ProfileRow]) -> int:
    """COPY profile rows into `table` (the profile table or a staging copy of its columns).

    Binary COPY: the server skips parsing numbers, timestamps and JSON text, which is most of
    its CPU on a million rows (measured: a third less wall time than text COPY).
    """
    types = _column_types()
    venue_id = venue.pk
    with connection.cursor() as cursor:
        # Django's wrapper hides psycopg's COPY API; the driver cursor underneath has it.
        driver_cursor = cursor.cursor
        # jsonb columns take the Python lists and dicts, serialized by our one encoder.
        set_json_dumps(_encode_json, context=driver_cursor)
        with driver_cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            written = 0
            for row in rows:
                copy.write_row((venue_id, *row))
                written += 1
    return written


def profiles_clear(*, venue: Venue) -> None:
    """Delete the venue's profiles; inside the full run's transaction readers keep seeing them
    until it commits."""
    if connection.vendor != "postgresql":
        CustomerProfile.objects.filter(venue=venue).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_PROFILES} WHERE venue_id = %s", [venue.pk])  # noqa: S608


def profiles_analyze() -> None:
    """Refresh the profile table's planner statistics after a full run rewrote a venue.

    Until autovacuum gets to it, the planner would still see the table as it was before: after
    a venue's first full run it took a million profiles for a few thousand and picked bitmap
    scans of the whole venue for lookups of a few customers (1.4 s instead of 0.1 s for
    10,000). Sampling costs about half a second at a million rows.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_PROFILES}")


def profiles_insert(*, venue: Venue, rows: Iterable[ProfileRow]) -> int:
    """Insert new profiles (no row may exist for these customers); returns how many.

    Rows should come in customer order: index insertion in key order is several times
    cheaper. On PostgreSQL they are streamed into COPY as the iterable yields them.
    """
    if connection.vendor == "postgresql":
        return _copy(_PROFILES, venue, rows)
    profiles = [profile_instance(venue=venue, row=row) for row in rows]
    CustomerProfile.objects.bulk_create(profiles, batch_size=500)
    return len(profiles)


def profiles_upsert(*, venue: Venue, rows: Sequence[ProfileRow]) -> None:
    """Insert or replace the profiles of these customers."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        CustomerProfile.objects.bulk_create(
            [profile_instance(venue=venue, row=row) for row in rows],
            batch_size=500,
            update_conflicts=True,
            unique_fields=["venue", "customer"],
            update_fields=_UPDATE_FIELDS,
        )
        return
    staging = "_profile_staging"
    updates = ", ".join(
        f"{_MODEL_FIELDS[name].column} = EXCLUDED.{_MODEL_FIELDS[name].column}"
        for name in _UPDATE_FIELDS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {_COLUMNS} FROM {_PROFILES} WITH NO DATA"
        )
    _copy(staging, venue, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_PROFILES} ({_COLUMNS}) SELECT {_COLUMNS} FROM {staging} "  # noqa: S608
            f"ORDER BY customer ON CONFLICT (venue_id, customer) DO UPDATE SET {updates}"
        )
        cursor.execute(f"TRUNCATE {staging}")


def profiles_delete(*, venue: Venue, customers: Sequence[str]) -> None:
    """Delete these customers' profiles (customers with no event at or before a run's as-of)."""
    if customers:
        CustomerProfile.objects.filter(venue=venue, customer__in=list(customers)).delete()


def profile_upsert_one(*, profile: CustomerProfile) -> CustomerProfile:
    """Insert or replace one profile in a single statement; returns the stored instance."""
    stored = CustomerProfile.objects.bulk_create(
        [profile],
        update_conflicts=True,
        unique_fields=["venue", "customer"],
        update_fields=_UPDATE_FIELDS,
    )
    return stored[0]


class SegmentTally:
    """Segment and RFM-segment counts accumulated while a full run streams its profiles."""

    def __init__(self) -> None:
        self.segments: Counter[str] = Counter()
        self.rfm_segments: Counter[str] = Counter()

    def counted(self, rows: Iterable[ProfileRow]) -> Iterator[ProfileRow]:
        """Pass the rows through, counting each one's segment and RFM segment."""
        segments = self.segments
        rfm_segments = self.rfm_segments
        for row in rows:
            segments[row[SEGMENT_INDEX]] += 1
            rfm_segments[row[RFM_SEGMENT_INDEX]] += 1
            yield row


def snapshot_store(
    *,
    venue: Venue,
    segment_counts: Mapping[str, int],
    rfm_segment_counts: Mapping[str, int],
    as_of: datetime,
    computed_at: datetime,
    run: RecomputeRun | None,
) -> SegmentSnapshot:
    """Store the venue's segment snapshot; every segment and RFM segment appears, zeros too."""
    segments = {name: int(segment_counts.get(name, 0)) for name in SEGMENTS}
    rfm_segments = {name: int(rfm_segment_counts.get(name, 0)) for name in RFM_SEGMENTS}
    snapshot, _created = SegmentSnapshot.objects.update_or_create(
        venue=venue,
        defaults={
            "segment_counts": segments,
            "rfm_segment_counts": rfm_segments,
            "total_customers": sum(segments.values()),
            "as_of": as_of,
            "computed_at": computed_at,
            "run": run,
        },
    )
    return snapshot


def counted_profiles(
    *, venue: Venue, customers: Sequence[str], snapshot: SegmentSnapshot
) -> SegmentTally:
    """The segments of these customers' stored profiles that `snapshot` counted.

    A snapshot counts the profiles its run wrote and those of earlier runs; a profile stored
    on demand after it (computed later than the snapshot) is not in its counts yet.
    """
    tally = SegmentTally()
    if not customers or snapshot.computed_at is None:
        return tally
    if connection.vendor == "postgresql":
        # The customers joined as a relation: one unique-index probe each, whatever the
        # table's statistics say (right after a full run they are stale, and the planner
        # chose a bitmap scan of the whole venue for the equivalent IN list: 1.4 s for
        # 10,000 customers of a million).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.segment, p.rfm_segment FROM unnest(%s::text[]) AS c(customer) "  # noqa: S608
                f"JOIN {_PROFILES} p ON p.venue_id = %s AND p.customer = c.customer "
                "WHERE p.computed_at <= %s",
                [list(customers), venue.pk, snapshot.computed_at],
            )
            stored = cursor.fetchall()
    else:
        stored = list(
            CustomerProfile.objects.filter(
                venue=venue, customer__in=list(customers), computed_at__lte=snapshot.computed_at
            ).values_list("segment", "rfm_segment")
        )
    for segment, rfm_segment in stored:
        tally.segments[segment] += 1
        tally.rfm_segments[rfm_segment] += 1
    return tally


def snapshot_adjust(
    *,
    venue: Venue,
    snapshot: SegmentSnapshot,
    removed: SegmentTally,
    added: SegmentTally,
    as_of: datetime,
    computed_at: datetime,
    run: RecomputeRun | None,
) -> SegmentSnapshot:
    """Move the snapshot's counts by the profiles a run replaced (`removed`, as counted before)
    and wrote (`added`): an incremental run costs its own customers, not a scan of the venue."""
    segments = Counter(snapshot.segment_counts)
    segments.update(added.segments)
    segments.subtract(removed.segments)
    rfm_segments = Counter(snapshot.rfm_segment_counts)
    rfm_segments.update(added.rfm_segments)
    rfm_segments.subtract(removed.rfm_segments)
    if any(count < 0 for count in (*segments.values(), *rfm_segments.values())):
        # Only a profile stored on demand that raced a run can cause this; the nightly full
        # run recounts every profile.
        logger.warning("segment_snapshot_drift venue=%s", venue.pk)
    return snapshot_store(
        venue=venue,
        segment_counts={name: max(count, 0) for name, count in segments.items()},
        rfm_segment_counts={name: max(count, 0) for name, count in rfm_segments.items()},
        as_of=as_of,
        computed_at=computed_at,
        run=run,
    )


def snapshot_recount(
    *, venue: Venue, as_of: datetime, computed_at: datetime, run: RecomputeRun | None
) -> SegmentSnapshot:
    """Recount the snapshot from the profile table with two GROUP BY queries.

    A recount corrects itself: profiles stored on demand between runs are counted too.
    """
    if connection.vendor == "postgresql":
        # One scan of the venue's profiles for both counts.
        segment_counts: dict[str, int] = {}
        rfm_counts: dict[str, int] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT segment, rfm_segment, count(*) FROM {_PROFILES} "  # noqa: S608
                "WHERE venue_id = %s GROUP BY GROUPING SETS ((segment), (rfm_segment))",
                [venue.pk],
            )
            for segment, rfm_segment, count in cursor.fetchall():
                if segment is not None:
                    segment_counts[segment] = count
                else:
                    rfm_counts[rfm_segment] = count
    else:
        profiles = CustomerProfile.objects.filter(venue=venue).order_by()
        segment_counts = dict(
            profiles.values("segment").annotate(n=Count("id")).values_list("segment", "n")
        )
        rfm_counts = dict(
            profiles.values("rfm_segment").annotate(n=Count("id")).values_list("rfm_segment", "n")
        )
    return snapshot_store(
        venue=venue,
        segment_counts=segment_counts,
        rfm_segment_counts=rfm_counts,
        as_of=as_of,
        computed_at=computed_at,
        run=run,
    )
