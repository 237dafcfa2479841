"""Request throttling per API token (per user for session logins).

DRF's sliding-log rule: at most `num_requests` accepted in any `duration` seconds, each
token's accepted request times kept in a log. Where the log is kept:

- With `CACHE_URL` (Redis), in a sorted set per token, trimmed, counted and appended by one
  Lua script: one round trip, a few bytes each way, and every worker and host counts the
  same requests.
- Without, in the process's cache (the embedded default), as an `array` of doubles.

Either way an unreachable store lets requests through (and says so in the log once a minute)
rather than answering every one with a server error.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import math
import time
import uuid
from array import array
from functools import cache
from typing import Any

import redis
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)
# At most one warning a minute per process while the store is down, not one per request.
WARN_EVERY_SECONDS = 60.0
_last_warning = -WARN_EVERY_SECONDS
# A store that hangs must not hang requests.
REDIS_TIMEOUT_SECONDS = 0.25

# ARGV: now, the window's start (times at or before it expire), the limit, a unique member,
# the log's lifetime in seconds. Times travel as strings: Lua would round them to 14 digits.
# Drops the expired times; if fewer than the limit remain, adds this one.
# Returns {accepted (0/1), times in the log, the oldest time when refused (for the wait)}.
_RECORD = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    return {1, count + 1}
end
return {0, count, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
"""


def _cache_unavailable() -> bool:
    """Fails open: an unreachable store (Redis down) lets the request through."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("throttle: the cache is unavailable; requests are not rate limited")
    return True


@cache
def _redis_record(url: str) -> Any:
    """The record script bound to a client of `url` (one per process and URL)."""
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    return client.register_script(_RECORD)


class TokenRateThrottle(SimpleRateThrottle):
    """DRF's sliding-log throttle with the log kept compactly, or in Redis (module doc).

    DRF keeps each token's log as a list, newest first, and the cache pickles and unpickles the
    whole list on every request. Here, in the process's cache, the same times are an `array`
    of doubles, oldest first (pickled as one block of bytes, appended at the end, expired ones
    cut with a binary search). Decisions and waits are DRF's.
    """

    scope = "token"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        if request.auth is not None and hasattr(request.auth, "key"):
            # The key is the token itself: a digest keeps the secret out of the store.
            ident = "token:" + hashlib.sha256(request.auth.pk.encode()).hexdigest()[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):  # type: ignore[no-untyped-def]
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            if settings.CACHE_URL:
                accepted = self._record_in_redis(settings.CACHE_URL)
            else:
                accepted = self._record_in_cache()
        except Exception:  # whatever the store raises
            return _cache_unavailable()
        return True if accepted else self.throttle_failure()

    def _record_in_redis(self, url: str) -> bool:
        accepted, count, *oldest = _redis_record(url)(
            keys=[f"customer-intel:{self.key}"],
            args=[
                repr(self.now),
                repr(self.now - self.duration),
                self.num_requests,
                uuid.uuid4().hex,
                math.ceil(self.duration),
            ],
        )
        self.count, self.oldest = int(count), (float(oldest[0]) if oldest else None)
        return bool(accepted)

    def _record_in_cache(self) -> bool:
        history = self.cache.get(self.key)
        if not isinstance(history, array):
            # Absent, or a list written by DRF's throttle (newest first).
            history = array("d", reversed(history or []))
        del history[: bisect.bisect_right(history, self.now - self.duration)]
        if len(history) < self.num_requests:
            history.append(self.now)
            self.cache.set(self.key, history, self.duration)
            accepted = True
        else:
            accepted = False
        self.count, self.oldest = len(history), (history[0] if history else None)
        return accepted

    def wait(self) -> float | None:
        """Seconds until a request may be accepted (DRF's formula)."""
        if self.count:
            remaining_duration = self.duration - (self.now - self.oldest)
        else:
            remaining_duration = self.duration
        available_requests = self.num_requests - self.count + 1
        if available_requests <= 0:
            return None
        return remaining_duration / float(available_requests)
