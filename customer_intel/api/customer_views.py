"""One customer's endpoints: profile, insights, RFM, lifetime value and journey.

The customer is named in the path by pseudonym or raw id. A stored profile is read through the
venue scope; a customer with events but no profile yet is computed on demand and rendered the
same way (`answers`).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from customer_intel.analytics.journey import JourneyEvent, summarize_journey
from customer_intel.api.answers import (
    CUSTOMER_INSIGHTS,
    CUSTOMER_RFM,
    JOURNEY_EVENT,
    JOURNEY_PAGE,
    PROFILE,
    JourneyPage,
    JourneySummaryAnswer,
)
from customer_intel.api.lifetime_answers import CUSTOMER_CLV
from customer_intel.api.pagination import KeysetOrder, KeysetPaginator, cursor_binding
from customer_intel.api.parameters import (
    CUSTOMER_ID,
    ERRORS,
    PAGE_PARAMETERS,
    VENUE_ID,
    check_customer_id_length,
)
from customer_intel.api.renderers import FormatParameterNegotiation
from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.api.shapes import Shape, render
from customer_intel.models import CustomerEvent, CustomerProfile
from customer_intel.privacy import resolve_customer_id
from customer_intel.services.recompute import compute_single_customer

CUSTOMER_NOT_FOUND = "Customer not found."
# A journey's summary lists the attribution of each purchase; past this many the list is cut
# (and flagged) so one response stays bounded whatever the customer's history.
MAX_ATTRIBUTIONS = 1000
JOURNEY_CHUNK_ROWS = 2000


class CustomerAPIView(VenueScopedAPIView):
    """A view of one customer at a venue."""

    content_negotiation_class = FormatParameterNegotiation

    @cached_property
    def customer(self) -> str:
        """The path's customer as a pseudonym; the raw id goes no further than this."""
        customer_id = self.kwargs["customer_id"]
        check_customer_id_length(customer_id)
        return resolve_customer_id(customer_id)

    def answer(self, shape: Shape) -> Response:
        """`shape` made of the customer's stored profile (only the columns it reads), or of
        the profile computed now if they have events but no profile yet."""
        stored = self.scoped(CustomerProfile).filter(customer=self.customer)
        row: Any = next(iter(stored.values_list(*shape.sources, named=True)[:1]), None)
        if row is None:
            row = compute_single_customer(venue=self.venue, customer=self.customer)
        if row is None:
            raise NotFound(CUSTOMER_NOT_FOUND)
        return Response(render(shape, row))


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerProfileView(CustomerAPIView):
    """A customer's profile: the cached figures, RFM, predictions and attributes."""

    @extend_schema(
        operation_id="customer_profile",
        description='Money is a decimal string with two places ("1234.50") in every '
        "response; ratios and counts are numbers. A customer with events but no stored profile "
        "yet is computed on the spot.",
        responses={200: PROFILE.serializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.answer(PROFILE)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerInsightsView(CustomerAPIView):
    """A customer's insights (churn risk, inactivity, high value, ...) as of the last run."""

    @extend_schema(
        operation_id="customer_insights", responses={200: CUSTOMER_INSIGHTS.serializer, **ERRORS}
    )
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.answer(CUSTOMER_INSIGHTS)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerRfmView(CustomerAPIView):
    """A customer's RFM analysis: recency, frequency, monetary, their scores and segment."""

    @extend_schema(operation_id="customer_rfm", responses={200: CUSTOMER_RFM.serializer, **ERRORS})
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.answer(CUSTOMER_RFM)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerClvView(CustomerAPIView):
    """A customer's lifetime value: historical, the three-year heuristic, and predictions."""

    @extend_schema(operation_id="customer_clv", responses={200: CUSTOMER_CLV.serializer, **ERRORS})
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.answer(CUSTOMER_CLV)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerJourneyView(CustomerAPIView):
    """A customer's events in time order, a page at a time, with a summary of the whole
    journey on every page."""

    @extend_schema(
        operation_id="customer_journey",
        parameters=PAGE_PARAMETERS,
        responses={200: JOURNEY_PAGE.serializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        events = self.scoped(CustomerEvent).filter(customer=self.customer)
        paginator = KeysetPaginator(
            request=request,
            order=KeysetOrder("occurred_at"),
            positions=events,
            key_field="event_id",
            binding=cursor_binding("journey", self.venue_id, self.customer),
        )
        fields = ("event_id", *JOURNEY_EVENT.sources)
        rows = paginator.page(events.values_list(*fields, named=True))
        if not rows and paginator.position is None:
            raise NotFound(CUSTOMER_NOT_FOUND)
        page = JourneyPage(
            customer=self.customer,
            results=rows,
            next=paginator.next_url,
            page_size=paginator.page_size,
            summary=self._summary(events),
        )
        return Response(render(JOURNEY_PAGE, page))

    def _summary(self, events: Any) -> JourneySummaryAnswer:
        """The whole journey's summary: every event streamed in time order, in chunks, so a
        long journey never sits in memory."""
        fields = ("type", "occurred_at", "amount", "event_category", "channel", "campaign")
        summary = summarize_journey(
            JourneyEvent(*row)
            for row in events.order_by("occurred_at", "id")
            .values_list(*fields)
            .iterator(chunk_size=JOURNEY_CHUNK_ROWS)
        )
        attributions = summary.purchase_attributions
        return JourneySummaryAnswer(
            first_touch=summary.first_touch,
            first_purchase=summary.first_purchase,
            touchpoints_before_first_purchase=summary.touchpoints_before_first_purchase,
            channels=summary.channels,
            purchase_attributions=attributions[:MAX_ATTRIBUTIONS],
            purchase_attributions_truncated=len(attributions) > MAX_ATTRIBUTIONS,
        )
