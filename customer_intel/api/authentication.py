"""Token authentication accepting both `Authorization: Token <key>` and `Bearer <key>`."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request

ACCEPTED_KEYWORDS = (b"token", b"bearer")


class BearerOrTokenAuthentication(TokenAuthentication):
    """DRF's token auth; campaign tools commonly send the same key as a Bearer token."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in ACCEPTED_KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: expected 'Token <key>' or 'Bearer <key>'."
            )
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key has invalid characters."
            ) from exc
        return self.authenticate_credentials(key)
