"""The pictures the admin draws of a venue: each one's figures read here, drawn by `charts`.

Every figure comes from the cache the API serves (snapshot, history, flows, profiles, the
model fit), so a picture never disagrees with the API's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q
from django.utils import timezone

from customer_intel.analytics.rfm import RF_GRID
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.analytics.shares import percentages
from customer_intel.charts.svg import (
    Bar,
    Series,
    heat_map,
    histogram,
    horizontal_bars,
    line_chart,
    nice_step,
)
from customer_intel.models import CustomerProfile, SegmentSnapshot, Venue
from customer_intel.trends.history import DEFAULT_WINDOW_DAYS, history_points, local_date
from customer_intel.trends.models import SegmentFlowSet

HISTOGRAM_BINS = 10
ENTERED = "entered"
LEFT = "left"


@dataclass(frozen=True)
class Picture:
    title: str
    svg: str
    caption: str = ""


def _local_time(venue: Venue, instant: datetime | None) -> str:
    if instant is None:
        return "never"
    local = instant.astimezone(ZoneInfo(venue.timezone))
    return f"{local:%Y-%m-%d %H:%M} ({venue.timezone})"


def segment_distribution(venue: Venue) -> Picture:
    snapshot = SegmentSnapshot.objects.filter(venue=venue).first()
    counts = [int((snapshot.segment_counts if snapshot else {}).get(name, 0)) for name in SEGMENTS]
    shares = percentages(counts)
    bars = [
        Bar(name, count, f"{share:.2f}%")
        for name, count, share in zip(SEGMENTS, counts, shares, strict=True)
    ]
    caption = (
        f"{sum(counts):,} customers as of {_local_time(venue, snapshot.as_of)}"
        if snapshot
        else "No run has counted this venue's customers yet."
    )
    svg = horizontal_bars(
        bars if snapshot else [], title="Customers by segment", value_label="customers (share)"
    )
    return Picture("Segment distribution", svg, caption)


def rfm_grid(venue: Venue) -> Picture:
    """Recency score (rows, 5 = most recent) by frequency score, counts from the profiles."""
    rows = (
        CustomerProfile.objects.filter(venue=venue, recency_score__isnull=False)
        .values_list("recency_score", "frequency_score")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts = {(r, f): n for r, f, n in rows}
    recency = [5, 4, 3, 2, 1]
    cells = [[counts.get((r, f), 0) for f in range(1, 6)] for r in recency]
    names = [list(RF_GRID[r]) for r in recency]
    svg = heat_map(
        cells,
        title="RFM grid: customers by recency and frequency score",
        row_labels=[f"R{r}" for r in recency],
        column_labels=[f"F{f}" for f in range(1, 6)],
        row_axis="recency score (5 = most recent)",
        column_axis="frequency score (5 = buys most often)",
        names=names,
    )
    caption = (
        f"{sum(counts.values()):,} customers with a purchase; each cell names the grid's "
        "segment (a few codes take the audit's names instead)."
    )
    return Picture("RFM grid", svg, caption)


def segment_history(venue: Venue) -> Picture:
    today = local_date(venue=venue, instant=timezone.now())
    points = history_points(
        venue=venue, date_from=today - timedelta(days=DEFAULT_WINDOW_DAYS), date_to=today
    )
    labels = [point.local_date.isoformat() for point in points]
    series = [
        Series(name, [int(point.segment_counts.get(name, 0)) for point in points])
        for name in SEGMENTS
    ]
    svg = line_chart(
        labels,
        series,
        title=f"Segment sizes over the last {DEFAULT_WINDOW_DAYS} days",
        x_axis=f"date of the run's as-of ({venue.timezone})",
        y_axis="customers",
    )
    return Picture("Segments over time", svg, f"{len(points)} day(s) with a successful run.")


def latest_flows(venue: Venue) -> Picture:
    flows = SegmentFlowSet.objects.filter(venue=venue).order_by("-id").first()
    if flows is None:
        svg = horizontal_bars([], title="Moves between segments", value_label="")
        return Picture("Segment flows", svg, "Flows appear after the venue's first full run.")
    origins = [*SEGMENTS, ENTERED]
    targets = [*SEGMENTS, LEFT]
    matrix = {(o or ENTERED, t or LEFT): n for o, t, n in flows.segment_flows}
    cells = [[matrix.get((o, t), 0) for t in targets] for o in origins]
    since = (
        f"from the full run as of {_local_time(venue, flows.previous.as_of)}"
        if flows.previous
        else "since profiles were first written"
    )
    svg = heat_map(
        cells,
        title="Customers moving between segments",
        row_labels=[f"from {o}" for o in origins],
        column_labels=[f"to {t}" for t in targets],
        row_axis="earlier full run",
        column_axis="latest full run",
        cell_width=82,
        cell_height=30,
    )
    caption = f"To the full run as of {_local_time(venue, flows.as_of)}, {since}."
    return Picture("Segment flows", svg, caption)


def _binned(venue: Venue, field: str, edges: list[float]) -> list[int]:
    """Counts of the venue's profiles per bin of `field`, in one scan."""
    last = len(edges) - 2
    aggregates = {
        f"bin{i}": Count(
            "id",
            filter=Q(**{f"{field}__gte": edges[i]})
            & (
                Q(**{f"{field}__lte": edges[i + 1]})
                if i == last
                else Q(**{f"{field}__lt": edges[i + 1]})
            ),
        )
        for i in range(last + 1)
    }
    counts = CustomerProfile.objects.filter(venue=venue).aggregate(**aggregates)
    return [counts[f"bin{i}"] for i in range(last + 1)]


def value_distribution(venue: Venue) -> Picture:
    """The model's three-year discounted lifetime value, where the venue's fit is usable."""
    largest = CustomerProfile.objects.filter(venue=venue).aggregate(m=Max("predicted_clv_3y"))["m"]
    title = f"Predicted 3-year lifetime value (model, {venue.currency})"
    if not largest:
        svg = histogram([0, 1], [0], title=title, x_axis="")
        return Picture("Lifetime value", svg, "No usable model fit: no model values yet.")
    step = nice_step(float(largest), HISTOGRAM_BINS)
    edges = [step * i for i in range(math.ceil(float(largest) / step) + 1)]
    counts = _binned(venue, "predicted_clv_3y", [Decimal(str(e)) for e in edges])
    svg = histogram(
        edges,
        counts,
        title=title,
        x_axis=f"predicted value over three years, discounted ({venue.currency})",
        edge_format=lambda v: f"{v:,.0f}",
    )
    return Picture("Lifetime value", svg, "Customers without a model value are not counted.")


def alive_distribution(venue: Venue) -> Picture:
    edges = [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]
    counts = _binned(venue, "probability_alive", edges)
    svg = histogram(
        edges,
        counts,
        title="P(alive): probability the customer still buys",
        x_axis="probability alive (model)",
        edge_format=lambda v: f"{v:.1f}",
    )
    return Picture("P(alive)", svg, "Customers without a model value are not counted.")


def venue_pictures(venue: Venue) -> list[Picture]:
    return [
        segment_distribution(venue),
        rfm_grid(venue),
        segment_history(venue),
        latest_flows(venue),
        value_distribution(venue),
        alive_distribution(venue),
    ]
