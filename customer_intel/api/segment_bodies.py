"""The segments endpoint's answer for a member, rendered once per state of the snapshot.

A venue's segment snapshot changes only when a run writes it, and dashboards ask for it far
more often. A member's token lookup also reads the snapshot's state: its counts, total and
times, as JSON text written by PostgreSQL. The answer is rendered from that text and kept,
per process, under the text itself, so a snapshot that changed is a new key, never a stale
answer, and every request still reads the database for its access and the current state.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.api.authentication import user_with_member_document
from customer_intel.api.compiled import CompiledLookup
from customer_intel.api.sql_json import Document, Kind, document_sql
from customer_intel.models import SegmentSnapshot

# The snapshot's values the answer is made of; date-times as the API writes them.
SNAPSHOT_STATE: Document = (
    ("segments", "segment_counts", Kind.AS_IS),
    ("rfm", "rfm_segment_counts", Kind.AS_IS),
    ("total", "total_customers", Kind.AS_IS),
    ("asOf", "as_of", Kind.INSTANT),
    ("computedAt", "computed_at", Kind.INSTANT),
)
SNAPSHOT_STATE_SQL = document_sql(SNAPSHOT_STATE, model=SegmentSnapshot)

# Distinct states kept per process: two answers (`by`) for each venue a process serves.
RENDERED_STATES = 4096


def segment_shares(
    *, names: Iterable[str], counts: dict[str, int], total: int
) -> list[dict[str, Any]]:
    """Every named segment with its count and its percentage of `total` (two decimals)."""
    shares = []
    for name in names:
        count = int(counts.get(name, 0))
        percentage = round(100.0 * count / total, 2) if total else 0.0
        shares.append({"segment": name, "count": count, "percentage": percentage})
    return shares


def _user_with_snapshot_state(*, key: str, venue_id: uuid.UUID) -> QuerySet:
    return user_with_member_document(
        key,
        venue_id=venue_id,
        rows=SegmentSnapshot.objects.filter(venue_id=venue_id),
        sql=SNAPSHOT_STATE_SQL,
        name="segment_snapshot_state",
    )


# The token's user (`key`) carrying `segment_snapshot_state`: the JSON text of the venue's
# snapshot state, null unless the user is a member of the venue and it has a snapshot.
USER_WITH_SNAPSHOT_STATE = CompiledLookup(
    get_user_model(), _user_with_snapshot_state, key=str, venue_id=uuid.UUID
)


@functools.lru_cache(maxsize=RENDERED_STATES)
def rendered_segments(venue_id: uuid.UUID, by: str, state: str) -> bytes:
    """The segments answer (JSON) of the venue whose snapshot is in `state`, by segment or
    by RFM segment (`by`: "segment" or "rfm")."""
    values = orjson.loads(state)
    names, counts = (RFM_SEGMENTS, values["rfm"]) if by == "rfm" else (SEGMENTS, values["segments"])
    total = int(values["total"])
    return orjson.dumps(
        {
            "venueId": str(venue_id),
            "by": by,
            "segments": segment_shares(names=names, counts=counts, total=total),
            "totalCustomers": total,
            "asOf": values["asOf"],
            "computedAt": values["computedAt"],
        }
    )
