"""Operational endpoints: health.

`GET /health` needs no credentials because load balancers call it without a token. Anonymous
callers learn only what is not sensitive: the overall status and whether the database and the
broker answer. Authenticated staff also get, per venue id, the age of its last successful
recompute and the as-of of its live profiles, which reveals which venues exist.

Status codes: 503 when the database is down (the instance cannot serve anything, take it out of
rotation); 200 with `degraded` when only the broker is down (every read still works from the
database and queued recomputes are sent when it is back, so pulling instances would not help).
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customer_intel.analytics.formats import instant_text
from customer_intel.api.customers_serializers import ErrorSerializer, HealthSerializer
from customer_intel.selectors import last_successful_runs
from customer_intel.services.live_as_of import venues_live_as_of

logger = logging.getLogger(__name__)

# A load balancer probes often and must get an answer quickly even when Redis hangs.
BROKER_TIMEOUT_SECONDS = 0.5


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        logger.warning("health check: database unreachable")
        return False


def broker_status() -> str:
    """`ok`, `down`, or `in-process` when no broker is configured (tasks run in-process)."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return "in-process"
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except (redis.RedisError, OSError, ValueError):
        logger.warning("health check: broker unreachable")
        return "down"


class HealthView(APIView):
    """Database and broker status; per-venue recompute age for staff."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        description="No credentials needed. 200 `ok`; 200 `degraded` when only the broker is "
        "down (reads still work); 503 `down` when the database is. Authenticated staff also get "
        "`venues`: seconds since each venue's last successful recompute, and `liveAsOf`: the "
        "as-of of each venue's live profiles.",
        auth=[{}, {"tokenAuth": []}],
        responses={
            200: HealthSerializer,
            401: OpenApiResponse(
                ErrorSerializer, description="Credentials were sent and are not valid."
            ),
            503: OpenApiResponse(HealthSerializer, description="The database is down."),
        },
    )
    def get(self, request: Request) -> Response:
        database = "ok" if database_ok() else "down"
        broker = broker_status()
        if database == "down":
            overall = "down"
        elif broker == "down":
            overall = "degraded"
        else:
            overall = "ok"
        body: dict[str, object] = {"status": overall, "database": database, "broker": broker}
        user = request.user
        if database == "ok" and user is not None and user.is_authenticated and user.is_staff:
            now = timezone.now()
            body["venues"] = {
                str(venue_id): None if finished is None else (now - finished).total_seconds()
                for venue_id, finished in last_successful_runs().items()
            }
            body["liveAsOf"] = {
                str(venue_id): instant_text(as_of)
                for venue_id, as_of in venues_live_as_of().items()
            }
        code = status.HTTP_503_SERVICE_UNAVAILABLE if database == "down" else status.HTTP_200_OK
        return Response(HealthSerializer(body).data, status=code)
