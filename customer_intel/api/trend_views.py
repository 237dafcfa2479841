"""A venue over time: segment history, flows between full runs, and how a run went."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.api.parameters import ERRORS, VENUE_ID
from customer_intel.api.renderers import FormatParameterNegotiation
from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.api.shapes import render
from customer_intel.api.trend_answers import (
    FLOWS,
    HISTORY,
    RUN,
    Flow,
    FlowsAnswer,
    HistoryAnswer,
    HistoryPoint,
    RunRef,
)
from customer_intel.api.venue_views import segment_shares
from customer_intel.models import RecomputeRun
from customer_intel.trends.history import DEFAULT_WINDOW_DAYS, MAX_POINTS, local_date
from customer_intel.trends.models import SegmentFlowSet, SegmentHistoryPoint

BY = OpenApiParameter(
    "by",
    OpenApiTypes.STR,
    enum=["segment", "rfm"],
    description="`segment` (default): the seven segments; `rfm`: RFM segments.",
)
NO_FULL_RUN = "No full run of this venue on that date."
RUN_NOT_FOUND = "Run not found."


def _by(request: Request) -> str:
    by = request.query_params.get("by", "segment")
    if by not in ("segment", "rfm"):
        raise ValidationError({"by": ["Must be `segment` or `rfm`."]})
    return by


def _date(request: Request, name: str) -> date | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError({name: ["Must be a date such as 2026-03-01."]}) from None


def _days_before(day: date, days: int) -> date:
    """`days` before `day`, or the first date there is (a window ending in year 1 is empty,
    not an overflow)."""
    return day - timedelta(days=min(days, (day - date.min).days))


@extend_schema(parameters=[VENUE_ID])
class SegmentHistoryView(VenueScopedAPIView):
    """Segment counts over time: one point per local date of the runs' as-of."""

    content_negotiation_class = FormatParameterNegotiation

    @extend_schema(
        operation_id="customer_segments_history",
        parameters=[
            BY,
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                description=f"First date (default: {DEFAULT_WINDOW_DAYS} days before `to`).",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                description="Last date (default: today in the venue's time zone).",
            ),
        ],
        responses={200: HISTORY.serializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str) -> Response:
        by = _by(request)
        date_to = _date(request, "to") or local_date(venue=self.venue, instant=timezone.now())
        date_from = _date(request, "from") or _days_before(date_to, DEFAULT_WINDOW_DAYS)
        if date_from > date_to:
            raise ValidationError({"from": ["Must not be after `to`."]})
        counts_field = "rfm_segment_counts" if by == "rfm" else "segment_counts"
        names = tuple(RFM_SEGMENTS if by == "rfm" else SEGMENTS)
        rows = (
            self.scoped(SegmentHistoryPoint)
            .filter(local_date__gte=date_from, local_date__lte=date_to)
            .order_by("-local_date")
            .values_list(
                "local_date", "run_id", "as_of", "computed_at", "total_customers", counts_field
            )[:MAX_POINTS]
        )
        points = [
            HistoryPoint(
                day,
                run_id,
                as_of,
                computed_at,
                total,
                segment_shares(names=names, counts=counts, total=total),
            )
            for day, run_id, as_of, computed_at, total, counts in reversed(list(rows))
        ]
        return Response(render(HISTORY, HistoryAnswer(self.venue.pk, by, points)))


@extend_schema(parameters=[VENUE_ID])
class SegmentFlowsView(VenueScopedAPIView):
    """Customers moving between segments from the previous full run to a full run."""

    content_negotiation_class = FormatParameterNegotiation

    @extend_schema(
        operation_id="customer_segments_flows",
        parameters=[
            BY,
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                description="The full run of this local "
                "date (its last); default the latest full run.",
            ),
        ],
        responses={200: FLOWS.serializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str) -> Response:
        by = _by(request)
        day = _date(request, "to")
        flow_sets = self.scoped(SegmentFlowSet).select_related("previous").order_by("-id")
        if day is not None:
            flow_sets = flow_sets.filter(local_date=day)
        flow_set = flow_sets.first()
        if flow_set is None:
            raise NotFound(NO_FULL_RUN)
        stored = flow_set.rfm_segment_flows if by == "rfm" else flow_set.segment_flows
        counts = flow_set.rfm_segment_counts if by == "rfm" else flow_set.segment_counts
        earlier = flow_set.previous
        answer = FlowsAnswer(
            venue_id=self.venue.pk,
            by=by,
            earlier=RunRef(earlier.run_id, earlier.as_of) if earlier is not None else None,
            later=RunRef(flow_set.run_id, flow_set.as_of),
            flows=[Flow(origin, target, count) for origin, target, count in stored],
            total_customers=sum(counts.values()),
        )
        return Response(render(FLOWS, answer))


@extend_schema(
    parameters=[VENUE_ID, OpenApiParameter("run_id", OpenApiTypes.INT, OpenApiParameter.PATH)]
)
class RecomputeRunView(VenueScopedAPIView):
    """A recompute run of the venue: mode, status, as-of, times, customers processed, error."""

    content_negotiation_class = FormatParameterNegotiation

    @extend_schema(operation_id="customer_recompute_run", responses={200: RUN.serializer, **ERRORS})
    def get(self, request: Request, venue_id: str, run_id: str) -> Response:
        # Run ids are bigints: anything else names no run (and never reaches the database).
        valid = run_id.isascii() and run_id.isdigit() and len(run_id) <= 18
        run = self.scoped(RecomputeRun).filter(pk=int(run_id)).first() if valid else None
        if run is None:
            raise NotFound(RUN_NOT_FOUND)
        return Response(render(RUN, run))
