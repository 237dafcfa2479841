"""Customers moving between segments from one full run to the next, counted exactly.

Each profile written by a full run also carries the segment and RFM segment it got from that
run (`full_run_segment`, `full_run_rfm_segment`); incremental runs leave them alone, and a
customer first stored after the full run has none. The next full run copies those pairs into a
temporary table before it replaces the profiles, then counts (previous, new) pairs with one
grouped join. Customers of the earlier run that the join does not meet (erased, or with no
event at or before the new as-of) are counted as leaving, from the earlier run's stored
counts, so flows summed by `from` give the earlier run's counts exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from django.db import connection

from customer_intel.models import CustomerProfile, RecomputeRun, Venue
from customer_intel.trends.history import local_date
from customer_intel.trends.models import SegmentFlowSet

_PREVIOUS = "flow_previous_full_run"
_PROFILES = CustomerProfile._meta.db_table

Flow = list  # [from, to, count]


def _venue_parameter(venue: Venue) -> object:
    # The venue key as this database stores it (hex text on SQLite, uuid on PostgreSQL).
    return CustomerProfile._meta.get_field("venue").get_db_prep_value(venue.pk, connection)


def flows_capture_previous(*, venue: Venue) -> None:
    """Copy the venue's full-run segments aside; call inside the full run, before clearing."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_PREVIOUS}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_PREVIOUS} (customer varchar(64) PRIMARY KEY, "
            "segment varchar(16) NOT NULL, rfm_segment varchar(32) NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {_PREVIOUS} (customer, segment, rfm_segment) "  # noqa: S608
            f"SELECT customer, full_run_segment, full_run_rfm_segment FROM {_PROFILES} "
            "WHERE venue_id = %s AND full_run_segment IS NOT NULL",
            [_venue_parameter(venue)],
        )


def _pairs(venue: Venue) -> list[tuple[str | None, str | None, str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.segment, p.rfm_segment, c.segment, c.rfm_segment, count(*) "  # noqa: S608
            f"FROM {_PROFILES} c LEFT JOIN {_PREVIOUS} p ON p.customer = c.customer "
            "WHERE c.venue_id = %s GROUP BY 1, 2, 3, 4",
            [_venue_parameter(venue)],
        )
        pairs = cursor.fetchall()
        cursor.execute(f"SELECT segment, rfm_segment, count(*) FROM {_PREVIOUS} GROUP BY 1, 2")  # noqa: S608
        captured = cursor.fetchall()
        cursor.execute(f"DROP TABLE {_PREVIOUS}")
    return pairs, captured


def _flows(
    moved: Counter[tuple[str | None, str]], previous_counts: Mapping[str, int]
) -> list[Flow]:
    """Flows from the (from, to) counts, plus those who left each earlier segment."""
    arrived: Counter[str] = Counter()
    for (origin, _target), count in moved.items():
        if origin is not None:
            arrived[origin] += count
    flows = [[origin, target, count] for (origin, target), count in moved.items()]
    for origin, count in previous_counts.items():
        left = count - arrived[origin]
        if left > 0:
            flows.append([origin, None, left])
    return sorted(flows, key=lambda f: (f[0] is None, f[0] or "", f[1] is None, f[1] or ""))


def flows_record(
    *,
    venue: Venue,
    run: RecomputeRun,
    as_of: datetime,
    segment_counts: Mapping[str, int],
    rfm_segment_counts: Mapping[str, int],
) -> SegmentFlowSet:
    """Count the moves since the venue's previous full run; call after the new profiles."""
    pairs, captured = _pairs(venue)
    previous = SegmentFlowSet.objects.filter(venue=venue).order_by("-id").first()
    if previous is not None:
        earlier_segments = previous.segment_counts
        earlier_rfm = previous.rfm_segment_counts
    else:
        # Profiles written before flows were kept: the captured pairs are the earlier run.
        earlier_segments, earlier_rfm = Counter(), Counter()
        for segment, rfm_segment, count in captured:
            earlier_segments[segment] += count
            earlier_rfm[rfm_segment] += count
    segment_moves: Counter[tuple[str | None, str]] = Counter()
    rfm_moves: Counter[tuple[str | None, str]] = Counter()
    for old_segment, old_rfm, new_segment, new_rfm, count in pairs:
        segment_moves[(old_segment, new_segment)] += count
        rfm_moves[(old_rfm, new_rfm)] += count
    return SegmentFlowSet.objects.create(
        venue=venue,
        run=run,
        as_of=as_of,
        local_date=local_date(venue=venue, instant=as_of),
        previous=previous,
        segment_counts=dict(segment_counts),
        rfm_segment_counts=dict(rfm_segment_counts),
        segment_flows=_flows(segment_moves, earlier_segments),
        rfm_segment_flows=_flows(rfm_moves, earlier_rfm),
    )
