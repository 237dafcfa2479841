"""A venue's segment counts and the recompute trigger."""

from __future__ import annotations

from collections.abc import Mapping

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.analytics.shares import percentages
from customer_intel.api.answers import SEGMENTS as SEGMENTS_ANSWER
from customer_intel.api.answers import SegmentsAnswer, SegmentShare
from customer_intel.api.customers_serializers import (
    ErrorSerializer,
    RecomputeQueuedSerializer,
    RecomputeRequestSerializer,
)
from customer_intel.api.parameters import ERRORS, VENUE_ID
from customer_intel.api.renderers import FormatParameterNegotiation
from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.api.shapes import render
from customer_intel.models import SegmentSnapshot
from customer_intel.services.recompute import queue_recompute


def segment_shares(
    *, names: tuple[str, ...], counts: dict[str, int], total: int
) -> list[SegmentShare]:
    """Every named segment with its count and its percentage (largest-remainder rounding, so
    the shares sum to exactly 100.00 when there is any customer; `total` is their sum)."""
    values = [int(counts.get(name, 0)) for name in names]
    return [
        SegmentShare(name, count, share)
        for name, count, share in zip(names, values, percentages(values), strict=True)
    ]


@extend_schema(parameters=[VENUE_ID])
class SegmentsView(VenueScopedAPIView):
    """Customers per segment, from the counts the last recompute stored (no profile scan)."""

    content_negotiation_class = FormatParameterNegotiation

    @extend_schema(
        operation_id="customer_segments",
        parameters=[
            OpenApiParameter(
                "by",
                OpenApiTypes.STR,
                enum=["segment", "rfm"],
                description="`segment` (default): the seven segments; `rfm`: RFM segments.",
            )
        ],
        responses={200: SEGMENTS_ANSWER.serializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str) -> Response:
        by = request.query_params.get("by", "segment")
        if by not in ("segment", "rfm"):
            raise ValidationError({"by": ["Must be `segment` or `rfm`."]})
        counts_field = "rfm_segment_counts" if by == "rfm" else "segment_counts"
        snapshots = self.scoped(SegmentSnapshot).values_list(
            counts_field, "total_customers", "as_of", "computed_at"
        )
        snapshot = next(iter(snapshots[:1]), None)
        if snapshot is None:
            _ = self.venue  # no snapshot yet, or no such venue for the caller (404)
            snapshot = ({}, 0, None, None)
        counts, total, as_of, computed_at = snapshot
        names = RFM_SEGMENTS if by == "rfm" else SEGMENTS
        answer = SegmentsAnswer(
            venue_id=self.venue_id,
            by=by,
            segments=segment_shares(names=tuple(names), counts=counts, total=total),
            total_customers=total,
            as_of=as_of,
            computed_at=computed_at,
        )
        return Response(render(SEGMENTS_ANSWER, answer))


@extend_schema(parameters=[VENUE_ID])
class RecomputeView(VenueScopedAPIView):
    """Queue a recompute of the venue's profiles (write access required).

    As for ingestion: a member who may only read the venue gets 403; anyone else gets the same
    404 as for a venue that does not exist.
    """

    venue_write_access = True
    content_negotiation_class = FormatParameterNegotiation
    # The body is a JSON object (or nothing): a form's empty `mode=` would pass as the default.
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="customer_recompute",
        request=RecomputeRequestSerializer,
        responses={
            202: RecomputeQueuedSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Read-only membership."),
            **ERRORS,
        },
    )
    def post(self, request: Request, venue_id: str) -> Response:
        # An empty body is the defaults; a body that is not an object (null, [], "") is wrong.
        if not isinstance(request.data, Mapping):
            raise ValidationError({"body": ["Must be a JSON object, or empty."]})
        serializer = RecomputeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mode = serializer.validated_data["mode"]
        run = queue_recompute(venue=self.venue, mode=mode)
        # The embedded default runs the task in-process: the run may already have finished.
        run.refresh_from_db(fields=["status"])
        location = reverse(
            "customer-recompute-run", kwargs={"venue_id": self.venue.pk, "run_id": run.pk}
        )
        return Response(
            RecomputeQueuedSerializer(
                {"runId": run.pk, "status": run.status, "mode": run.mode}
            ).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
