"""Token authentication accepting both `Authorization: Token <key>` and `Bearer <key>`."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request

ACCEPTED_KEYWORDS = (b"token", b"bearer")


class BearerOrTokenAuthentication(TokenAuthentication):
    """DRF's token authentication; campaign tools commonly send the same key as a Bearer
    token, so both keywords are accepted (DRF's reads the one in `keyword`)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in ACCEPTED_KEYWORDS:
            return None
        # DRF's parsing, lookup and errors, under the keyword the client sent (the
        # authenticator is made for each request).
        self.keyword = parts[0].decode()
        return super().authenticate(request)
