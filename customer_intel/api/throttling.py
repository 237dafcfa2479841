"""Request throttling per API token (per user for session logins): DRF's sliding-log throttle.

The log lives in Django's cache: Django's Redis cache when `CACHE_URL` is set (every worker
and host counts the same requests), the process's memory otherwise. An unreachable store lets
requests through, with a warning in the log at most once a minute, rather than answering every
request with a server error.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from redis import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)
# At most one warning a minute per process while the store is down, not one per request.
WARN_EVERY_SECONDS = 60.0
_last_warning = -WARN_EVERY_SECONDS


def _store_unavailable() -> bool:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("throttle: the cache is unavailable; requests are not rate limited")
    return True


class TokenRateThrottle(SimpleRateThrottle):
    """DRF's throttle keyed by a digest of the token (the secret never names a cache key),
    failing open when the cache cannot be reached."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str:
        if request.auth is not None and hasattr(request.auth, "key"):
            ident = "token:" + hashlib.sha256(request.auth.key.encode()).hexdigest()[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):  # what Django's Redis cache raises when Redis is away
            return _store_unavailable()
