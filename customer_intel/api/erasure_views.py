"""Erasure of a customer at a venue: DELETE on the customer's URL, whose GET is the profile.

`CustomerView` is what the URL routes to: it hands GET and HEAD to the profile view and DELETE
to the erasure view, so each keeps its own access rule (read membership for the profile, write
membership for the erasure) and the schema documents both methods on the one path.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from customer_intel.api.customer_views import CUSTOMER_NOT_FOUND, CustomerProfileView
from customer_intel.api.customers_serializers import ErrorSerializer
from customer_intel.api.parameters import CUSTOMER_ID, ERRORS, VENUE_ID, check_customer_id_length
from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.privacy import resolve_customer_id
from customer_intel.services.audit import Actor
from customer_intel.services.erasure import CustomerNotFound, VenueBusy, customer_erase

# How long an erasure request waits for a recompute of the venue to finish writing profiles
# before answering 409 (a full run of a large venue takes minutes).
LOCK_TIMEOUT_MS = 10_000


class RecomputeRunning(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A recompute of this venue is writing profiles; try again in a minute."
    default_code = "recompute_running"


class ErasureQuerySerializer(serializers.Serializer):
    suppress = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also drop the customer's later events at ingestion (a suppression).",
    )


class ErasedCountsSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="Events deleted.")
    profiles = serializers.IntegerField(help_text="Profiles deleted (0 or 1).")


class ErasureResultSerializer(serializers.Serializer):
    erased = ErasedCountsSerializer()


@extend_schema(parameters=[VENUE_ID, CUSTOMER_ID])
class CustomerErasureView(VenueScopedAPIView):
    """Erase a customer at a venue (write access required): their events, facts, profile and
    pending mark, in one transaction; `?suppress=true` also drops their later events.

    As for the other writes: a member who may only read the venue gets 403; anyone else the
    same 404 as for a venue that does not exist. The audit trail records the erasure without
    the customer's id.
    """

    venue_write_access = True

    @extend_schema(
        operation_id="customer_erase",
        description="Erases the customer at the venue: their events, facts, profile and pending "
        "mark, in one transaction (write access). `suppress=true` also drops their later events "
        "at ingestion. The venue's segment counts lose the profile at once; the audit trail "
        "records the erasure without the customer's id.",
        parameters=[ErasureQuerySerializer],
        responses={
            200: ErasureResultSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Read-only membership."),
            409: OpenApiResponse(
                ErrorSerializer, description="A recompute of the venue is writing; retry."
            ),
            **ERRORS,
        },
    )
    def delete(self, request: Request, venue_id: str, customer_id: str) -> Response:
        query = ErasureQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        check_customer_id_length(customer_id)
        try:
            result = customer_erase(
                venue=self.venue,
                customer=resolve_customer_id(customer_id),
                actor=Actor.api_user(request.user),
                suppress=query.validated_data["suppress"],
                lock_timeout_ms=LOCK_TIMEOUT_MS,
            )
        except CustomerNotFound:
            raise NotFound(CUSTOMER_NOT_FOUND) from None
        except VenueBusy:
            raise RecomputeRunning() from None
        body = {"erased": {"events": result.events, "profiles": result.profiles}}
        return Response(ErasureResultSerializer(body).data)


class CustomerView(VenueScopedAPIView):
    """A customer's URL: GET (and HEAD) is the profile, DELETE the erasure."""

    _read = staticmethod(CustomerProfileView.as_view())
    _erase = staticmethod(CustomerErasureView.as_view())
    # The methods the URL takes, as their own views document them (the schema reads these);
    # any other method is answered 405 by this view.
    get = CustomerProfileView.get
    delete = CustomerErasureView.delete

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "DELETE":
            return self._erase(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            return self._read(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)
