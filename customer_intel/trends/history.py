"""The venue's segment counts over time: recorded by every successful run, read by the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from customer_intel.models import RecomputeRun, RunMode, SegmentSnapshot, Venue
from customer_intel.trends.models import SegmentHistoryPoint

MAX_POINTS = 1000
DEFAULT_WINDOW_DAYS = 90


def local_date(*, venue: Venue, instant: datetime) -> date:
    """The date of `instant` on the venue's wall clock."""
    return instant.astimezone(ZoneInfo(venue.timezone)).date()


def history_record(*, venue: Venue, run: RecomputeRun, snapshot: SegmentSnapshot) -> None:
    """Leave the counts of `snapshot` as they stood at the run's as-of; the day's last run wins.

    A full run also prunes the points older than the venue's history retention: full runs are
    the nightly ones, so pruning is nightly without a schedule of its own.
    """
    day = local_date(venue=venue, instant=run.as_of)
    SegmentHistoryPoint.objects.update_or_create(
        venue=venue,
        local_date=day,
        defaults={
            "run": run,
            "as_of": run.as_of,
            "computed_at": snapshot.computed_at or run.as_of,
            "total_customers": snapshot.total_customers,
            "segment_counts": dict(snapshot.segment_counts),
            "rfm_segment_counts": dict(snapshot.rfm_segment_counts),
        },
    )
    if run.mode == RunMode.FULL:
        history_prune(venue=venue, today=local_date(venue=venue, instant=timezone.now()))


def history_prune(*, venue: Venue, today: date) -> int:
    """Delete the venue's points older than its `history_retention_days`; returns how many."""
    oldest = today - timedelta(days=venue.history_retention_days)
    deleted, _ = SegmentHistoryPoint.objects.filter(venue=venue, local_date__lt=oldest).delete()
    return deleted


def history_points(*, venue: Venue, date_from: date, date_to: date) -> list[SegmentHistoryPoint]:
    """The venue's points from `date_from` to `date_to` (inclusive), oldest first.

    At most `MAX_POINTS`: the most recent ones when the window holds more.
    """
    points = SegmentHistoryPoint.objects.filter(
        venue=venue, local_date__gte=date_from, local_date__lte=date_to
    ).order_by("-local_date")[:MAX_POINTS]
    return list(reversed(points))
