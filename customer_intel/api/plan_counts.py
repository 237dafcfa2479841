"""The segment counts a search plans with (search_plan), read at most once a minute per venue
and process.

They only choose between two plans that give the same rows, so counts a minute old are as good
as fresh ones, and a search spares the query that reads them (a round trip per search with a
segment filter).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

from django.db import connection

from customer_intel.models import SegmentSnapshot

MAX_AGE_SECONDS = 60.0
MAX_VENUES = 1024

_VENUE = SegmentSnapshot._meta.get_field("venue")
_COUNTS_SQL = (
    "SELECT segment_counts, rfm_segment_counts, total_customers "  # noqa: S608 - model table
    f"FROM {SegmentSnapshot._meta.db_table} WHERE venue_id = %s"
)


@dataclass(frozen=True, slots=True)
class PlanCounts:
    segment_counts: dict[str, int]
    rfm_segment_counts: dict[str, int]
    total: int


_read: dict[uuid.UUID, tuple[float, PlanCounts | None]] = {}
_lock = threading.Lock()


def plan_counts(venue_id: uuid.UUID) -> PlanCounts | None:
    """The venue's snapshot counts as of at most MAX_AGE_SECONDS ago; None without one."""
    now = time.monotonic()
    found = _read.get(venue_id)
    if found is not None and now - found[0] < MAX_AGE_SECONDS:
        return found[1]
    counts = _query(venue_id)
    with _lock:
        if len(_read) >= MAX_VENUES:
            _read.clear()
        _read[venue_id] = (now, counts)
    return counts


def _query(venue_id: uuid.UUID) -> PlanCounts | None:
    # Plain SQL: building the equivalent queryset costs more than PostgreSQL's answer.
    venue_key = _VENUE.get_db_prep_value(venue_id, connection)  # SQLite: hex text
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS_SQL, [venue_key])
        row = cursor.fetchone()
    if row is None:
        return None
    segment_counts, rfm_segment_counts, total = (
        json.loads(value) if isinstance(value, str) else value for value in row
    )
    return PlanCounts(segment_counts, rfm_segment_counts, total)
