"""Writing computed profiles and the venue's segment snapshot.

On PostgreSQL, profiles go in with COPY in the unique key's order: straight into the profile
table after a full run's DELETE, or through a temporary table and one
`INSERT … ON CONFLICT DO UPDATE` for an incremental run's changed customers. Elsewhere the ORM
writes the same rows with `bulk_create`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Count

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.models import CustomerProfile, RecomputeRun, SegmentSnapshot, Venue

_PROFILES = CustomerProfile._meta.db_table

# Every column the engine writes, in COPY order; id comes from the sequence.
_MODEL_FIELDS = [
    field for field in CustomerProfile._meta.concrete_fields if field.name not in {"id", "venue"}
]
PROFILE_FIELDS: tuple[str, ...] = tuple(field.name for field in _MODEL_FIELDS)
_JSON_FIELDS = frozenset(
    field.name for field in _MODEL_FIELDS if field.get_internal_type() == "JSONField"
)
_COLUMNS = ", ".join(["venue_id", *(field.column for field in _MODEL_FIELDS)])
_UNIQUE_KEY = {"customer"}


def _json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))


def _copy_rows(venue: Venue, rows: Iterable[Mapping[str, Any]]) -> Iterable[tuple[Any, ...]]:
    venue_id = venue.pk
    for row in rows:
        yield (
            venue_id,
            *(_json(row[name]) if name in _JSON_FIELDS else row[name] for name in PROFILE_FIELDS),
        )


def _copy(table: str, venue: Venue, rows: Iterable[Mapping[str, Any]]) -> None:
    # Django's wrapper hides psycopg's COPY API; the driver cursor underneath has it.
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy,
    ):
        for values in _copy_rows(venue, rows):
            copy.write_row(values)


def profiles_clear(*, venue: Venue) -> None:
    """Delete the venue's profiles; inside the full run's transaction readers keep seeing them
    until it commits."""
    if connection.vendor != "postgresql":
        CustomerProfile.objects.filter(venue=venue).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_PROFILES} WHERE venue_id = %s", [venue.pk])  # noqa: S608


def profiles_insert(*, venue: Venue, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new profiles (no row may exist for these customers). Rows should come in
    customer order: index insertion in key order is several times cheaper."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(_PROFILES, venue, rows)
        return
    CustomerProfile.objects.bulk_create(
        [CustomerProfile(venue=venue, **row) for row in rows], batch_size=500
    )


def profiles_upsert(*, venue: Venue, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or replace the profiles of these customers."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        CustomerProfile.objects.bulk_create(
            [CustomerProfile(venue=venue, **row) for row in rows],
            batch_size=500,
            update_conflicts=True,
            unique_fields=["venue", "customer"],
            update_fields=[name for name in PROFILE_FIELDS if name not in _UNIQUE_KEY],
        )
        return
    staging = "_profile_staging"
    columns = [field.column for field in _MODEL_FIELDS]
    updates = ", ".join(f"{col} = EXCLUDED.{col}" for col in columns if col != "customer")
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
        update_fields=[name for name in PROFILE_FIELDS if name not in _UNIQUE_KEY],
    )
    return stored[0]


class SegmentTally:
    """Segment and RFM-segment counts accumulated while a full run streams its profiles."""

    def __init__(self) -> None:
        self.segments: Counter[str] = Counter()
        self.rfm_segments: Counter[str] = Counter()

    def add(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.segments[row["segment"]] += 1
            self.rfm_segments[row["rfm_segment"]] += 1


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


def snapshot_recount(
    *, venue: Venue, as_of: datetime, computed_at: datetime, run: RecomputeRun | None
) -> SegmentSnapshot:
    """Recount the snapshot from the profile table with two GROUP BY queries.

    A recount corrects itself: profiles stored on demand between runs are counted too.
    """
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
