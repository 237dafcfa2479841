"""The answers about a venue over time: segment history, flows between full runs, a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rest_framework import serializers

from customer_intel.api.answers import PERCENTAGE, SegmentShare
from customer_intel.api.shapes import (
    INSTANT,
    INTEGER,
    OPTIONAL_TEXT,
    TEXT,
    UUID,
    Kind,
    Nested,
    Shape,
    Value,
    choice,
)
from customer_intel.models import RunMode, RunStatus

DATE = Kind(date.isoformat, serializers.DateField)
BY = choice(["segment", "rfm"])

SEGMENT_COUNT = Shape(
    "SegmentCountAt",
    (
        Value("segment", "segment", TEXT),
        Value("count", "count", INTEGER),
        Value(
            "percentage",
            "percentage",
            PERCENTAGE,
            help="Share of the point's customers, "
            "two decimals; the shares of a point sum to exactly 100.00.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    date: date
    run_id: int | None
    as_of: datetime
    computed_at: datetime
    total_customers: int
    segments: list[SegmentShare]


@dataclass(frozen=True, slots=True)
class HistoryAnswer:
    venue_id: Any
    by: str
    points: list[HistoryPoint]


HISTORY = Shape(
    "SegmentHistory",
    (
        Value("venueId", "venue_id", UUID),
        Value("by", "by", BY),
        Nested(
            "points",
            Shape(
                "SegmentHistoryPoint",
                (
                    Value(
                        "date",
                        "date",
                        DATE,
                        help="Date of the run's as-of in the venue's time zone.",
                    ),
                    Value("runId", "run_id", INTEGER, nullable=True),
                    Value("asOf", "as_of", INSTANT),
                    Value("computedAt", "computed_at", INSTANT),
                    Value("totalCustomers", "total_customers", INTEGER),
                    Nested("segments", SEGMENT_COUNT, source="segments", many=True),
                ),
                help="The day's last successful run.",
            ),
            source="points",
            many=True,
        ),
    ),
    help="Segment counts per local date of the runs' as-of, oldest first (at most 1,000).",
)


@dataclass(frozen=True, slots=True)
class RunRef:
    run_id: int | None
    as_of: datetime


@dataclass(frozen=True, slots=True)
class Flow:
    origin: str | None
    target: str | None
    count: int


@dataclass(frozen=True, slots=True)
class FlowsAnswer:
    venue_id: Any
    by: str
    earlier: RunRef | None
    later: RunRef
    flows: list[Flow]
    total_customers: int


RUN_REF = Shape(
    "FullRunRef",
    (Value("runId", "run_id", INTEGER, nullable=True), Value("asOf", "as_of", INSTANT)),
)
FLOWS = Shape(
    "SegmentFlows",
    (
        Value("venueId", "venue_id", UUID),
        Value("by", "by", BY),
        Nested(
            "from",
            RUN_REF,
            source="earlier",
            nullable=True,
            help="The earlier full run; null when there was none.",
        ),
        Nested("to", RUN_REF, source="later"),
        Nested(
            "flows",
            Shape(
                "SegmentFlow",
                (
                    Value(
                        "from",
                        "origin",
                        TEXT,
                        nullable=True,
                        help="Segment at the earlier run; null: entered since.",
                    ),
                    Value(
                        "to",
                        "target",
                        TEXT,
                        nullable=True,
                        help="Segment at the later run; null: left (erased, or no event "
                        "at or before the later as-of).",
                    ),
                    Value("count", "count", INTEGER),
                ),
            ),
            source="flows",
            many=True,
        ),
        Value("totalCustomers", "total_customers", INTEGER, help="Customers at the later run."),
    ),
    help="Customers moving between segments from one full run to the next. Summed by `from` "
    "the counts give the earlier run's counts (plus entrants), summed by `to` the later run's.",
)

RUN = Shape(
    "RecomputeRun",
    (
        Value("runId", "pk", INTEGER),
        Value("venueId", "venue_id", UUID),
        Value("mode", "mode", choice(list(RunMode.values))),
        Value("status", "status", choice(list(RunStatus.values))),
        Value("asOf", "as_of", INSTANT, nullable=True),
        Value("requestedAt", "requested_at", INSTANT),
        Value("startedAt", "started_at", INSTANT, nullable=True),
        Value("finishedAt", "finished_at", INSTANT, nullable=True),
        Value("customersProcessed", "customers_processed", INTEGER),
        Value("eventsProcessed", "events_processed", INTEGER),
        Value(
            "error", "error", OPTIONAL_TEXT, nullable=True, help="Why it failed; null otherwise."
        ),
    ),
    help="A recompute run and how it went.",
)
