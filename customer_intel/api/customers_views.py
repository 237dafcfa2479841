"""The customer endpoints: segments, search (JSON pages or a CSV stream), one customer's
profile, insights, RFM, lifetime value and journey, and the recompute trigger.

Every view is venue-scoped (VenueScopedAPIView): a venue that does not exist and one the caller
may not read give the same 404. Views validate, call a selector or service, and serialize.
"""

from __future__ import annotations

import csv
import functools
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.http import Http404, StreamingHttpResponse
from django_filters.constants import EMPTY_VALUES
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customer_intel.analytics.journey import JourneyEvent, JourneySummary, summarize_journey
from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.rules import SEGMENTS
from customer_intel.api.authentication import user_with_member_document
from customer_intel.api.camel import CSV_COLUMNS, ORDERING_FIELDS
from customer_intel.api.compiled import CompiledLookup, CompiledShapes
from customer_intel.api.customers_serializers import (
    PROFILE_JSON_FIELDS,
    CustomerClvSerializer,
    CustomerInsightsSerializer,
    CustomerProfileSerializer,
    CustomerRfmSerializer,
    CustomerSearchPageSerializer,
    ErrorSerializer,
    JourneyEventSerializer,
    JourneyPageSerializer,
    RecomputeQueuedSerializer,
    RecomputeRequestSerializer,
    SegmentsSerializer,
    customer_clv_json,
    customer_rfm_json,
    iso,
    money,
    profile_json,
    segments_json,
)
from customer_intel.api.filters import DEFAULT_ORDERING, CustomerProfileFilterSet
from customer_intel.api.pagination import (
    CURSOR_PARAM,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PAGE_SIZE_PARAM,
    KeysetOrder,
    KeysetPaginator,
    PageSource,
    ordered,
)
from customer_intel.api.plan_counts import plan_counts
from customer_intel.api.renderers import CSVRenderer, FastJSONRenderer
from customer_intel.api.scoping import VENUE_NOT_FOUND, VenueScopedAPIView
from customer_intel.api.search_plan import sort_filtered_rows
from customer_intel.api.segment_bodies import (
    USER_WITH_SNAPSHOT_STATE,
    rendered_segments,
    segment_shares,
)
from customer_intel.api.sql_json import (
    CUSTOMER_CLV_DOCUMENT_SQL,
    CUSTOMER_RFM_DOCUMENT_SQL,
    PROFILE_DOCUMENT_SQL,
)
from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    SegmentSnapshot,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import resolve_customer_id
from customer_intel.selectors import (
    JOURNEY_FIELDS,
    customer_events_for_venue,
    customer_journey_rows,
    customer_profile_for_user,
    customer_profiles_for_venue,
    venue_with_snapshot_for_user,
)
from customer_intel.services.recompute import compute_single_customer
from customer_intel.services.recompute_queue import queue_recompute

MAX_CUSTOMER_ID_LENGTH = 256
CUSTOMER_NOT_FOUND = "Customer not found."
CSV_CHUNK_ROWS = 2000
# A journey's summary lists the attribution of each purchase; past this many the list is cut
# (and flagged) so one response stays bounded whatever the customer's history.
MAX_ATTRIBUTIONS = 1000

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A parameter is invalid; it is named."),
    401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
    404: OpenApiResponse(
        ErrorSerializer, description="Venue not found or not accessible, or unknown customer."
    ),
}
VENUE_ID = OpenApiParameter(
    "venue_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The venue's UUID."
)
CUSTOMER_ID = OpenApiParameter(
    "customer_id",
    {"type": "string", "minLength": 1, "maxLength": MAX_CUSTOMER_ID_LENGTH},
    OpenApiParameter.PATH,
    description="A pseudonym (64 lowercase hex characters) or a raw customer id, which is "
    f"hashed before lookup and never echoed; at most {MAX_CUSTOMER_ID_LENGTH} characters.",
)
PAGE_PARAMETERS = [
    OpenApiParameter(
        PAGE_SIZE_PARAM,
        OpenApiTypes.INT,
        description=f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
    ),
    OpenApiParameter(
        CURSOR_PARAM, OpenApiTypes.STR, description="The opaque cursor of the `next` link."
    ),
]


def venue_uuid(venue_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(venue_id)
    except ValueError:
        return None


def _readable_profiles(*, venue_id: uuid.UUID, user_id: int) -> QuerySet:
    # A membership check PostgreSQL evaluates once, before reading any profile (it does not
    # depend on the profile row): the venue access and the read in one query. No row tells a
    # missing or unreadable venue (404) apart.
    memberships = VenueMembership.objects.filter(user_id=user_id, venue_id=venue_id)
    return CustomerProfile.objects.filter(venue_id=venue_id).filter(Exists(memberships))


def _member_profiles(*, venue_id: uuid.UUID, customer: str, user_id: int) -> QuerySet:
    # The profile comes from the (venue, customer) unique index.
    return _readable_profiles(venue_id=venue_id, user_id=user_id).filter(customer=customer)


# Search page queries, compiled once per shape of their values.
SHAPES = CompiledShapes()


def _member_profile(*, venue_id: uuid.UUID, customer: str, user_id: int) -> QuerySet:
    return _member_profiles(venue_id=venue_id, customer=customer, user_id=user_id)[:1]


def profile_document(sql: str = PROFILE_DOCUMENT_SQL) -> RawSQL:
    """A profile's response as JSON text written by PostgreSQL (see sql_json)."""
    # Built from the model's columns, with no input.
    return RawSQL(sql, (), output_field=TextField())  # noqa: S611


@functools.cache
def document_lookups(sql: str) -> tuple[CompiledLookup, CompiledLookup]:
    """Compiled reads of a stored profile's response written by `sql`: with the token's user
    (`key`, `venue_id`, `customer`; the user carries `profile_document`, null unless they are
    a member of the venue), and for a member (`venue_id`, `customer`, `user_id`)."""

    def with_token(*, key: str, venue_id: uuid.UUID, customer: str) -> QuerySet:
        return user_with_member_document(
            key,
            venue_id=venue_id,
            rows=CustomerProfile.objects.filter(venue_id=venue_id, customer=customer),
            sql=sql,
            name="profile_document",
        )

    def for_member(*, venue_id: uuid.UUID, customer: str, user_id: int) -> QuerySet:
        profiles = _member_profiles(venue_id=venue_id, customer=customer, user_id=user_id)
        return profiles.annotate(document=profile_document(sql)).values_list("document")[:1]

    return (
        CompiledLookup(get_user_model(), with_token, key=str, venue_id=uuid.UUID, customer=str),
        CompiledLookup(CustomerProfile, for_member, venue_id=uuid.UUID, customer=str, user_id=int),
    )


def _member_snapshot(*, venue_id: uuid.UUID, user_id: int) -> QuerySet:
    membership = VenueMembership.objects.filter(user_id=user_id, venue_id=venue_id)
    return SegmentSnapshot.objects.filter(venue_id=venue_id).filter(Exists(membership))[:1]


MEMBER_SNAPSHOT = CompiledLookup(SegmentSnapshot, _member_snapshot, venue_id=uuid.UUID, user_id=int)


# A member's read of one stored profile, the hottest query of the API, compiled once.
MEMBER_PROFILE = CompiledLookup(
    CustomerProfile, _member_profile, venue_id=uuid.UUID, customer=str, user_id=int
)


class FormatAsParameterMixin:
    """An unknown `?format=` is a bad parameter (400), not DRF's 404."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force=force)  # type: ignore[misc]
        except Http404 as exc:
            raise ValidationError({"format": ["Unsupported format."]}) from exc


class CustomerAPIView(FormatAsParameterMixin, VenueScopedAPIView):
    """A view of one customer at a venue, named in the path by pseudonym or raw id.

    A view that sets `document_sql` (sql_json) answers a member's stored profile with the JSON
    PostgreSQL writes, read with the token in one query; otherwise, and for a profile computed
    on demand, it renders the profile in Python.
    """

    document_sql: str | None = None

    @cached_property
    def customer(self) -> str:
        """The path's customer as a pseudonym; the raw id goes no further than this."""
        customer_id = self.kwargs["customer_id"]
        if len(customer_id) > MAX_CUSTOMER_ID_LENGTH:
            raise ValidationError({"customerId": [f"At most {MAX_CUSTOMER_ID_LENGTH} characters."]})
        return resolve_customer_id(customer_id)

    @cached_property
    def stored_profile(self) -> CustomerProfile | None:
        # The common case, a readable venue and a stored profile, costs one query.
        user = self.request.user
        venue_id = venue_uuid(self.kwargs["venue_id"])
        if user.is_staff or venue_id is None:
            return customer_profile_for_user(
                user=user, venue_id=self.kwargs["venue_id"], customer=self.customer
            )
        profile = MEMBER_PROFILE.first(venue_id=venue_id, customer=self.customer, user_id=user.pk)
        if profile is not None:
            # The membership proved access; the venue's other fields load if ever asked for.
            profile.venue = Venue.from_db(profile._state.db, ["id"], [venue_id])
        return profile

    def token_lookup(self) -> tuple[CompiledLookup, dict[str, Any]] | None:
        """The caller's token and the stored profile's response in one query (see
        authentication); None when this view has no document or the URL needs the checks."""
        venue_id = venue_uuid(self.kwargs["venue_id"])
        too_long = len(self.kwargs["customer_id"]) > MAX_CUSTOMER_ID_LENGTH
        if not self._documents_apply() or venue_id is None or too_long:
            return None
        with_token, _ = document_lookups(self.document_sql)
        return with_token, {"venue_id": venue_id, "customer": self.customer}

    @cached_property
    def stored_document(self) -> str | None:
        """A member's stored profile as the response PostgreSQL writes (the access check, the
        row and its rendering in one query, the token's when the caller sent one); None for
        staff, a profile not stored yet, or a view without a document."""
        user = self.request.user
        venue_id = venue_uuid(self.kwargs["venue_id"])
        if not self._documents_apply() or user.is_staff or venue_id is None:
            return None
        if hasattr(user, "profile_document"):
            return user.profile_document
        _, for_member = document_lookups(self.document_sql)
        row = for_member.first_row(venue_id=venue_id, customer=self.customer, user_id=user.pk)
        return None if row is None else row[0]

    def _documents_apply(self) -> bool:
        return self.document_sql is not None and connection.vendor == "postgresql"

    def respond(self, render: Callable[[CustomerProfile], Any]) -> Response:
        """The stored profile's response as PostgreSQL wrote it, or `render` of the profile."""
        if self.stored_document is not None:
            return Response(orjson.Fragment(self.stored_document))
        return Response(render(self.get_profile()))

    @cached_property
    def venue(self) -> Venue:
        if self.stored_document is not None:
            # The membership proved access; the venue's other fields load if ever asked for.
            venue_id = venue_uuid(self.kwargs["venue_id"])
            return Venue.from_db(CustomerProfile.objects.db, ["id"], [venue_id])
        if self.stored_profile is not None:
            return self.stored_profile.venue
        # No stored profile: the base class tells a missing or forbidden venue (404) apart.
        return VenueScopedAPIView.venue.func(self)

    def get_profile(self) -> CustomerProfile:
        """The customer's profile, computed now if they have events but no profile yet."""
        profile = self.stored_profile
        if profile is None:
            profile = compute_single_customer(venue=self.venue, customer=self.customer)
        if profile is None:
            raise NotFound(CUSTOMER_NOT_FOUND)
        return profile


@extend_schema(parameters=[VENUE_ID])
class SegmentsView(FormatAsParameterMixin, VenueScopedAPIView):
    """Customers per segment, from the counts the last recompute stored (no profile scan)."""

    def token_lookup(self) -> tuple[CompiledLookup, dict[str, Any]] | None:
        """The caller's token and, for a member, the venue's snapshot state in one query (see
        authentication and segment_bodies)."""
        venue_id = venue_uuid(self.kwargs["venue_id"])
        if venue_id is None or connection.vendor != "postgresql":
            return None
        return USER_WITH_SNAPSHOT_STATE, {"venue_id": venue_id}

    @cached_property
    def snapshot_state(self) -> str | None:
        """The snapshot's state read with the token: a member's venue that has a snapshot."""
        return getattr(self.request.user, "segment_snapshot_state", None)

    @cached_property
    def venue(self) -> Venue:
        user, venue_id = self.request.user, self.kwargs["venue_id"]
        member_venue = venue_uuid(venue_id) if not user.is_staff else None
        if self.snapshot_state is not None:
            # The membership proved access; the venue's other fields load if ever asked for.
            return Venue.from_db(SegmentSnapshot.objects.db, ["id"], [venue_uuid(venue_id)])
        if member_venue is not None:
            # A member by session: one compiled query.
            snapshot = MEMBER_SNAPSHOT.first(venue_id=member_venue, user_id=user.pk)
            if snapshot is not None:
                # The membership proved access; the venue's other fields load if ever asked.
                venue = Venue.from_db(snapshot._state.db, ["id"], [member_venue])
                venue.segment_snapshot = snapshot
                return venue
        # Staff, no snapshot yet, or no access: the venue and its snapshot in one query.
        venue = venue_with_snapshot_for_user(user=user, venue_id=venue_id)
        if venue is None:
            raise NotFound(VENUE_NOT_FOUND)
        return venue

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
        responses={200: SegmentsSerializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str) -> Response:
        by = request.query_params.get("by", "segment")
        if by not in ("segment", "rfm"):
            raise ValidationError({"by": ["Must be `segment` or `rfm`."]})
        if self.snapshot_state is not None:
            return Response(
                orjson.Fragment(rendered_segments(self.venue.pk, by, self.snapshot_state))
            )
        try:
            snapshot: SegmentSnapshot | None = self.venue.segment_snapshot
        except SegmentSnapshot.DoesNotExist:
            snapshot = None
        total = snapshot.total_customers if snapshot else 0
        if by == "rfm":
            names, counts = RFM_SEGMENTS, snapshot.rfm_segment_counts if snapshot else {}
        else:
            names, counts = SEGMENTS, snapshot.segment_counts if snapshot else {}
        body = {
            "venueId": self.venue.pk,
            "by": by,
            "segments": segment_shares(names=names, counts=counts, total=total),
            "totalCustomers": total,
            "asOf": snapshot.as_of if snapshot else None,
            "computedAt": snapshot.computed_at if snapshot else None,
        }
        return Response(segments_json(body))


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerProfileView(CustomerAPIView):
    """A customer's profile: the cached figures, RFM, predictions and attributes."""

    document_sql = PROFILE_DOCUMENT_SQL

    @extend_schema(
        operation_id="customer_profile",
        description='Money is a decimal string with two places ("1234.50") in every '
        "response; ratios and counts are numbers. A customer with events but no stored profile "
        "yet is computed on the spot.",
        responses={200: CustomerProfileSerializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.respond(profile_json)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerInsightsView(CustomerAPIView):
    """A customer's insights (churn risk, inactivity, high value, ...) as of the last run."""

    @extend_schema(
        operation_id="customer_insights",
        responses={200: CustomerInsightsSerializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return Response(CustomerInsightsSerializer(self.get_profile()).data)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerRfmView(CustomerAPIView):
    """A customer's RFM analysis: recency, frequency, monetary, their scores and segment."""

    document_sql = CUSTOMER_RFM_DOCUMENT_SQL

    @extend_schema(operation_id="customer_rfm", responses={200: CustomerRfmSerializer, **ERRORS})
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.respond(customer_rfm_json)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerClvView(CustomerAPIView):
    """A customer's lifetime value: historical, the three-year heuristic, and predictions."""

    document_sql = CUSTOMER_CLV_DOCUMENT_SQL

    @extend_schema(operation_id="customer_clv", responses={200: CustomerClvSerializer, **ERRORS})
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        return self.respond(customer_clv_json)


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerJourneyView(CustomerAPIView):
    """A customer's events in time order, a page at a time, with a summary of the whole
    journey on every page."""

    @extend_schema(
        operation_id="customer_journey",
        parameters=PAGE_PARAMETERS,
        responses={200: JourneyPageSerializer, **ERRORS},
    )
    def get(self, request: Request, venue_id: str, customer_id: str) -> Response:
        paginator = KeysetPaginator(
            request=request, order=KeysetOrder("occurred_at"), model=CustomerEvent
        )
        events = customer_events_for_venue(venue=self.venue, customer=self.customer)
        rows = paginator.page(events.only(*JOURNEY_FIELDS))
        if not rows and paginator.position is None:
            raise NotFound(CUSTOMER_NOT_FOUND)
        summary = summarize_journey(
            JourneyEvent(
                type=row["type"],
                occurred_at=row["occurred_at"],
                amount=row["amount"],
                event_category=row["event_category"],
                channel=row["channel"],
                campaign=row["campaign"],
            )
            for row in customer_journey_rows(venue=self.venue, customer=self.customer)
        )
        return Response(
            {
                "customerId": self.customer,
                "results": JourneyEventSerializer(rows, many=True).data,
                "next": paginator.next_url,
                "pageSize": paginator.page_size,
                "summary": journey_summary_json(summary),
            }
        )


def journey_summary_json(summary: JourneySummary) -> dict[str, Any]:
    """The summary in the API's shape; attributions are cut at MAX_ATTRIBUTIONS."""
    first_touch = summary.first_touch
    first_purchase = summary.first_purchase
    attributions = summary.purchase_attributions
    return {
        "firstTouch": first_touch
        and {
            "type": first_touch.type,
            "occurredAt": iso(first_touch.occurred_at),
            "channel": first_touch.channel,
            "campaign": first_touch.campaign,
        },
        "firstPurchase": first_purchase
        and {
            "occurredAt": iso(first_purchase.occurred_at),
            "amount": money(first_purchase.amount),
        },
        "touchpointsBeforeFirstPurchase": summary.touchpoints_before_first_purchase,
        "channels": summary.channels,
        "purchaseAttributions": [
            {
                "occurredAt": iso(item.occurred_at),
                "amount": money(item.amount),
                "campaign": item.campaign,
            }
            for item in attributions[:MAX_ATTRIBUTIONS]
        ],
        "purchaseAttributionsTruncated": len(attributions) > MAX_ATTRIBUTIONS,
    }


CSV_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv"],
    description="`csv` streams every matching row (same filters and ordering, no pages) "
    "as text/csv for a campaign tool.",
)


@extend_schema(parameters=[VENUE_ID])
class CustomerSearchView(FormatAsParameterMixin, VenueScopedAPIView, GenericAPIView):
    """Profiles matching the filters, a cursor page at a time, or all of them as CSV."""

    queryset = CustomerProfile.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerProfileFilterSet
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    def initial(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Authentication, format, permissions and throttles as everywhere; the venue is
        # resolved here too except for a member's JSON page, whose own query checks access.
        APIView.initial(self, request, *args, **kwargs)
        if self.member_venue is None or request.accepted_renderer.format == "csv":
            _ = self.venue

    @cached_property
    def member_venue(self) -> uuid.UUID | None:
        """The URL's venue id when a member (not staff) asks for it, else None."""
        if self.request.user.is_staff:
            return None
        return venue_uuid(self.kwargs["venue_id"])

    @extend_schema(
        operation_id="customer_search",
        description="Filters combine with AND; ranges are inclusive except lastPurchaseBefore. "
        "Unknown parameters are ignored. Pages follow `next` (a signed cursor); ordering puts "
        "nulls last in both directions and breaks ties by id.",
        filters=True,
        parameters=[*PAGE_PARAMETERS, CSV_PARAMETER],
        responses={
            (200, "application/json"): CustomerSearchPageSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="customerId and the main profile fields."
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request, venue_id: str) -> Response | StreamingHttpResponse:
        csv_export = request.accepted_renderer.format == "csv"
        from_page_source = connection.vendor == "postgresql" and not csv_export
        profiles: QuerySet | None
        if from_page_source:
            profiles = None  # the page source builds its query from the filters' values
        elif self.member_venue is not None and not csv_export:
            profiles = _readable_profiles(venue_id=self.member_venue, user_id=request.user.pk)
        else:
            profiles = customer_profiles_for_venue(venue=self.venue)
        try:
            filterset = CustomerProfileFilterSet(
                data=request.query_params, queryset=profiles, request=request
            )
            if not filterset.is_valid():
                raise translate_validation(filterset.errors)
            ordering = filterset.form.cleaned_data.get("ordering") or DEFAULT_ORDERING
            order = keyset_order(ordering)
            if csv_export:
                return self._csv_response(filterset.qs, order)
            paginator = KeysetPaginator(
                request=request,
                order=order,
                model=CustomerProfile,
                sort_fallback=self._few_rows(order, filterset.form.cleaned_data),
            )
        except ValidationError:
            _ = self.venue  # a venue the caller may not read is a 404 before any 400
            raise
        if from_page_source:
            rows = paginator.page(self._page_source(filterset, order))
            results: Any = orjson.Fragment(f"[{','.join(row.document for row in rows)}]")
        else:
            # Named rows instead of model instances: a page of 50 builds no models.
            rows = paginator.page(filterset.qs.values_list(*PROFILE_JSON_FIELDS, named=True))
            results = [profile_json(row) for row in rows]
        if not rows:
            _ = self.venue
        return Response(
            {"results": results, "next": paginator.next_url, "pageSize": paginator.page_size}
        )

    def _page_source(self, filterset: CustomerProfileFilterSet, order: KeysetOrder) -> PageSource:
        """The page's rows (each with its response written by PostgreSQL, beside what the
        cursor needs), built from values so that its query is compiled once per shape."""
        member = self.member_venue is not None
        values: dict[str, Any] = (
            {"venue": self.member_venue, "user": self.request.user.pk}
            if member
            else {"venue": self.venue.pk}
        )
        values.update(
            (name, value)
            for name, value in filterset.form.cleaned_data.items()
            if name != "ordering" and value not in EMPTY_VALUES
        )
        filters = filterset.filters

        def build(values: dict[str, Any]) -> QuerySet:
            if "user" in values:
                profiles = _readable_profiles(venue_id=values["venue"], user_id=values["user"])
            else:
                profiles = CustomerProfile.objects.filter(venue_id=values["venue"])
            for name, value in values.items():
                if name in filters:
                    profiles = filters[name].filter(profiles, value)
            return profiles.annotate(document=profile_document()).values_list(
                "id", order.field, "document", named=True
            )

        return PageSource(key=("search", order.field), values=values, build=build, shapes=SHAPES)

    def _few_rows(self, order: KeysetOrder, cleaned: dict[str, Any]) -> bool:
        """Whether the segment filters pick few enough rows to sort them (search_plan)."""
        segments = cleaned.get("segment") or []
        rfm_segments = cleaned.get("rfmSegment") or []
        if not segments and not rfm_segments:
            return False
        venue_id = self.member_venue if self.member_venue is not None else self.venue.pk
        counts = plan_counts(venue_id)
        if counts is None:
            return False
        return sort_filtered_rows(
            segments=segments,
            rfm_segments=rfm_segments,
            ordering_field=order.field,
            segment_counts=counts.segment_counts,
            rfm_segment_counts=counts.rfm_segment_counts,
            total=counts.total,
        )

    def _csv_response(self, queryset: QuerySet, order: KeysetOrder) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            stream_profiles_csv(queryset=queryset, order=order),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="customers-{self.venue.pk}.csv"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors are JSON in every format: a CSV client still gets a readable error body.
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(response, Response) and renderer is not None and renderer.format == "csv":
            request.accepted_renderer = FastJSONRenderer()
            request.accepted_media_type = FastJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def keyset_order(ordering: str) -> KeysetOrder:
    """`-totalSpent` → descending on `total_spent`, nulls last when the field is nullable."""
    name = ordering.removeprefix("-")
    field = ORDERING_FIELDS[name]
    nullable = CustomerProfile._meta.get_field(field).null
    return KeysetOrder(field=field, descending=ordering.startswith("-"), nullable=nullable)


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


# A spreadsheet would run a cell starting with one of these as a formula; event categories
# come from clients, so such cells are quoted as text (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = frozenset({"top_event_type"})


def stream_profiles_csv(*, queryset: QuerySet, order: KeysetOrder) -> Iterator[str]:
    """The header and every row of `queryset` in `order`, in chunks of CSV text.

    Rows come through a server-side cursor inside a transaction (PostgreSQL streams a
    non-holdable cursor instead of materializing the result first), so memory stays bounded
    whatever the number of rows.
    """
    writer = csv.writer(_Echo())
    fields = list(CSV_COLUMNS.values())
    text_positions = [i for i, field in enumerate(fields) if field in _TEXT_COLUMNS]
    yield writer.writerow(list(CSV_COLUMNS))
    with transaction.atomic():
        for part in ordered(queryset, order):
            lines: list[str] = []
            for row in part.values_list(*fields).iterator(chunk_size=CSV_CHUNK_ROWS):
                values = [_csv_value(value) for value in row]
                for i in text_positions:
                    if values[i].startswith(_FORMULA_PREFIXES):
                        values[i] = "'" + values[i]
                lines.append(writer.writerow(values))
                if len(lines) >= CSV_CHUNK_ROWS:
                    yield "".join(lines)
                    lines = []
            if lines:
                yield "".join(lines)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


@extend_schema(parameters=[VENUE_ID])
class RecomputeView(FormatAsParameterMixin, VenueScopedAPIView):
    """Queue a recompute of the venue's profiles (write access required).

    As for ingestion: a member who may only read the venue gets 403; anyone else gets the same
    404 as for a venue that does not exist.
    """

    venue_write_access = True
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
        return Response(
            RecomputeQueuedSerializer(
                {"runId": run.pk, "status": run.status, "mode": run.mode}
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )
