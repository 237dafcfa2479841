"""The customer search: filtered, ordered profiles a cursor page at a time, or all of them as
a CSV stream for a campaign tool."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from customer_intel.api.answers import PROFILE, PROFILE_CSV, SEARCH_PAGE, Page
from customer_intel.api.camel import ORDERING_FIELDS
from customer_intel.api.filters import (
    DEFAULT_ORDERING,
    SearchParameters,
    given,
    openapi_parameters,
    search_filter,
)
from customer_intel.api.pagination import (
    KeysetOrder,
    KeysetPaginator,
    cursor_binding,
    ordered,
)
from customer_intel.api.parameters import ERRORS, PAGE_PARAMETERS, VENUE_ID
from customer_intel.api.renderers import (
    CSVRenderer,
    FastJSONRenderer,
    FormatParameterNegotiation,
)
from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.api.search_plan import sort_filtered_rows
from customer_intel.api.shapes import render
from customer_intel.models import CustomerProfile, SegmentSnapshot

CSV_CHUNK_ROWS = 2000

CSV_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv"],
    description="`csv` streams every matching row (same filters and ordering, no pages) "
    "as text/csv for a campaign tool.",
)


@extend_schema(parameters=[VENUE_ID])
class CustomerSearchView(VenueScopedAPIView):
    """Profiles matching the filters, a cursor page at a time, or all of them as CSV."""

    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    content_negotiation_class = FormatParameterNegotiation

    @extend_schema(
        operation_id="customer_search",
        description="Filters combine with AND; ranges are inclusive except lastPurchaseBefore. "
        "Unknown parameters are ignored. Pages follow `next` (a signed cursor, valid only for "
        "the same venue, filters and ordering); ordering puts nulls last in both directions "
        "and breaks ties by id.",
        parameters=[*openapi_parameters(SearchParameters), *PAGE_PARAMETERS, CSV_PARAMETER],
        responses={
            (200, "application/json"): SEARCH_PAGE.serializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="customerId and the main profile fields."
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request, venue_id: str) -> Response | StreamingHttpResponse:
        parameters = SearchParameters(request.query_params)
        if not parameters.is_valid():
            raise ValidationError(
                {name: list(errors) for name, errors in parameters.errors.items()}
            )
        cleaned = parameters.cleaned_data
        order = keyset_order(cleaned["ordering"] or DEFAULT_ORDERING)
        profiles = self.scoped(CustomerProfile)
        matching = profiles.filter(search_filter(cleaned))
        if request.accepted_renderer.format == "csv":
            return self._csv_response(matching, order)
        paginator = KeysetPaginator(
            request=request,
            order=order,
            positions=profiles,
            key_field="customer",
            binding=cursor_binding("search", self.venue_id, order.key, *_canonical(cleaned)),
            sort_fallback=self._few_rows(order, cleaned),
        )
        rows = paginator.page(matching.values_list(*PROFILE.sources, named=True))
        if not rows:
            _ = self.venue  # an empty page, or no such venue for the caller (404)
        page = Page(results=rows, next=paginator.next_url, page_size=paginator.page_size)
        return Response(render(SEARCH_PAGE, page))

    def _few_rows(self, order: KeysetOrder, cleaned: dict[str, Any]) -> bool:
        """Whether the segment filters pick few enough rows to sort them (search_plan)."""
        segments = cleaned.get("segment") or []
        rfm_segments = cleaned.get("rfmSegment") or []
        if not segments and not rfm_segments:
            return False
        snapshots = self.scoped(SegmentSnapshot).values_list(
            "segment_counts", "rfm_segment_counts", "total_customers"
        )
        counts = next(iter(snapshots[:1]), None)
        if counts is None:
            return False
        segment_counts, rfm_segment_counts, total = counts
        return sort_filtered_rows(
            segments=segments,
            rfm_segments=rfm_segments,
            ordering_field=order.field,
            segment_counts=segment_counts,
            rfm_segment_counts=rfm_segment_counts,
            total=total,
        )

    def _csv_response(self, queryset: QuerySet, order: KeysetOrder) -> StreamingHttpResponse:
        venue = self.venue  # before streaming: a venue the caller may not use is the 404
        response = StreamingHttpResponse(
            stream_profiles_csv(queryset=queryset, order=order),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="customers-{venue.pk}.csv"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors are JSON in every format: a CSV client still gets a readable error body.
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(response, Response) and renderer is not None and renderer.format == "csv":
            request.accepted_renderer = FastJSONRenderer()
            request.accepted_media_type = FastJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _canonical(cleaned: dict[str, Any]) -> list[str]:
    """The given filters as sorted `name=value` texts (lists sorted), for a cursor's binding."""
    return sorted(
        f"{name}={','.join(sorted(value)) if isinstance(value, list) else value}"
        for name, value in given(cleaned).items()
    )


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
_CLIENT_TEXT_COLUMNS = ("topEventType",)


def stream_profiles_csv(*, queryset: QuerySet, order: KeysetOrder) -> Iterator[str]:
    """The header and every row of `queryset` in `order`, in chunks of CSV text; values are
    written as in the JSON answers (`PROFILE_CSV`), null as an empty cell.

    Rows come through a server-side cursor inside a transaction (PostgreSQL streams a
    non-holdable cursor instead of materializing the result first), so memory stays bounded
    whatever the number of rows.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow([entry.key for entry in PROFILE_CSV.entries])
    with transaction.atomic():
        for part in ordered(queryset, order):
            rows = part.values_list(*PROFILE_CSV.sources, named=True)
            lines: list[str] = []
            for row in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
                values = render(PROFILE_CSV, row)
                for key in _CLIENT_TEXT_COLUMNS:
                    text = values[key]
                    if text is not None and text.startswith(_FORMULA_PREFIXES):
                        values[key] = "'" + text
                lines.append(writer.writerow(["" if v is None else v for v in values.values()]))
                if len(lines) >= CSV_CHUNK_ROWS:
                    yield "".join(lines)
                    lines = []
            if lines:
                yield "".join(lines)
