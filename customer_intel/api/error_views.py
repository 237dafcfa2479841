"""Errors Django answers itself, in the API's one error shape (see exceptions.py).

`server_error` is the project's handler500 (an uncaught exception outside DEBUG; a lost
database answers 503 with a retry hint, as it is transient), `bad_request` and
`permission_denied` its handler400 and handler403, and `api_not_found` answers every path
under /customers/ and /events/ that no API route takes, so clients never see Django's HTML.
"""

from __future__ import annotations

import sys
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

DATABASE_DOWN = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
RETRY_AFTER_SECONDS = 5


def error_response(status: int, code: str, message: str) -> JsonResponse:
    """`{"error": {status, code, message}}` with `status`."""
    return JsonResponse(
        {"error": {"status": status, "code": code, "message": message}}, status=status
    )


def server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this inside the `except` of the uncaught exception.
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        response = error_response(
            503, "service_unavailable", "The database is unavailable; try again shortly."
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return error_response(500, "server_error", "Internal server error.")


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    return error_response(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    return error_response(403, "permission_denied", "You do not have permission to do this.")


# Exempt, as DRF's views are: it changes nothing, and a DELETE or POST to a path no route takes
# must get this 404, not the CSRF check's HTML 403.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return error_response(404, "not_found", "Not found.")
