"""OpenAPI parameters and error responses the customer endpoints share, and the check of the
customer named in a path."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import ValidationError

from customer_intel.analytics.vocabulary import MAX_CUSTOMER_ID_LENGTH
from customer_intel.api.customers_serializers import ErrorSerializer
from customer_intel.api.pagination import (
    CURSOR_PARAM,
    CURSOR_SCHEMA,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PAGE_SIZE_PARAM,
    PAGE_SIZE_SCHEMA,
)

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
        PAGE_SIZE_SCHEMA,
        description=f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
    ),
    OpenApiParameter(
        CURSOR_PARAM,
        CURSOR_SCHEMA,
        description="The opaque cursor of the `next` link; empty or absent: the first page. "
        "A cursor is valid only for the venue, filters and ordering it was issued for.",
    ),
]


def check_customer_id_length(customer_id: str) -> None:
    """The `maxLength` that `CUSTOMER_ID` documents, enforced as a 400 naming `customerId`:
    ingestion accepts no longer id, so a longer one is a malformed request, not an unknown
    customer."""
    if len(customer_id) > MAX_CUSTOMER_ID_LENGTH:
        raise ValidationError({"customerId": [f"At most {MAX_CUSTOMER_ID_LENGTH} characters."]})
