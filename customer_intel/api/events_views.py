"""The ingestion endpoint: a batch of events in, `{accepted, duplicates, suppressed}` out."""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from customer_intel.api.events_serializers import (
    EventBatchSerializer,
    IngestResultSerializer,
    batch_rows,
)
from customer_intel.api.exceptions import BatchValidationError
from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.services.event_validation import validate_event_rows
from customer_intel.services.ingestion import ingest_events

# A full batch of 5,000 events with 4 KB of properties each stays below this. It replaces
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default, sized for forms) for this endpoint.
MAX_BODY_BYTES = 32 * 1024 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The request body must be at most {MAX_BODY_BYTES} bytes."
    default_code = "payload_too_large"


class BoundedJSONParser(BaseParser):
    """A JSON parser with the endpoint's own size bound, and a 400 (not a 500) for absurdly
    deep nesting.

    Deliberately not a JSONParser subclass: DRF reads `request.body` for those, which applies
    Django's form-sized DATA_UPLOAD_MAX_MEMORY_SIZE and answers an oversized batch with an HTML
    page; this parser reads the stream itself, at most one byte past the bound.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        try:
            return json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise ParseError("The body is not valid JSON.") from None


def _reject_constant(_name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


class EventBatchIngestView(VenueScopedAPIView):
    """POST a batch of events for a venue; all are stored or, if any is invalid, none.

    Answers 200 with `{accepted, duplicates, suppressed}`; 200 rather than 201 because a
    replayed batch creates nothing and is still a success. A member who may read the venue but
    not write to it gets 403 (the venue's existence is no secret to them); anyone else gets the
    same 404 as for a venue that does not exist.
    """

    venue_write_access = True
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="events_ingest",
        request=EventBatchSerializer,
        responses={
            200: IngestResultSerializer,
            400: OpenApiResponse(description="Invalid batch: every bad row by index and field."),
            401: OpenApiResponse(description="No or bad credentials."),
            403: OpenApiResponse(description="Read-only member of the venue."),
            404: OpenApiResponse(description="Venue not found or not accessible."),
            413: OpenApiResponse(description="Body too large."),
        },
    )
    def post(self, request: Request, venue_id: str) -> Response:
        rows = batch_rows(request.data)
        events, errors = validate_event_rows(venue=self.venue, rows=rows, now=timezone.now())
        if errors:
            raise BatchValidationError([error.as_dict() for error in errors])
        result = ingest_events(venue=self.venue, events=events)
        return Response(IngestResultSerializer(result).data, status=status.HTTP_200_OK)
