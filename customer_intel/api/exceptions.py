"""One JSON shape for every error the API returns.

    {"error": {"status": 400, "code": "invalid", "message": "...", "details": ...}}

`details` carries field-level problems: `{field: [messages]}` for parameters, and for an
ingestion batch a list of `{index, field, message}`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class BatchValidationError(exceptions.ValidationError):
    """A batch with bad rows; `detail` is the list of `{index, field, message}`."""

    default_code = "invalid_batch"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__()
        self.detail = errors
        self.rows = errors

    def get_codes(self) -> str:
        # The rows hold integers (index) that DRF's code walker cannot handle.
        return self.default_code


def _message_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, BatchValidationError):
        return f"{len(exc.rows)} invalid event(s); nothing was stored."
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict) and detail:
            fields = ", ".join(sorted(str(k) for k in detail))
            return f"Invalid parameter(s): {fields}."
        if isinstance(detail, list) and detail:
            return str(detail[0])
        return "Invalid input."
    detail = exc.detail
    if isinstance(detail, str):
        return detail
    return str(getattr(exc, "default_detail", "Error."))


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    body: dict[str, Any] = {
        "status": response.status_code,
        "code": _code_for(exc),
        "message": _message_for(exc),
    }
    if isinstance(exc, exceptions.ValidationError):
        body["details"] = exc.detail
    response.data = {"error": body}
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response


def _code_for(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code
