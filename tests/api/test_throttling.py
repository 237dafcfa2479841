"""The per-token throttle: DRF's sliding-log rule with a compact log."""

from __future__ import annotations

from types import SimpleNamespace

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from customer_intel.api.throttling import TokenRateThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def throttle_class(base: type, clock: Clock, cache: LocMemCache) -> type:
    class Throttle(base):  # type: ignore[misc, valid-type]
        rate = "3/m"
        timer = clock
        scope = "token"

        def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
            return f"test-throttle-{base.__name__}"

    Throttle.cache = cache
    return Throttle


REQUEST = SimpleNamespace(auth=None, user=None)


def test_same_decisions_and_waits_as_drfs_sliding_log():
    clock = Clock()
    cache = LocMemCache("throttle-test", {})
    ours = throttle_class(TokenRateThrottle, clock, cache)
    drfs = throttle_class(SimpleRateThrottle, clock, cache)
    steps = [0, 1, 1, 1, 20, 38, 1, 1, 30, 61, 0, 5]
    for step in steps:
        clock.now += step
        ours_throttle, drfs_throttle = ours(), drfs()
        allowed = ours_throttle.allow_request(REQUEST, None)
        assert allowed == drfs_throttle.allow_request(REQUEST, None)
        if not allowed:
            assert ours_throttle.wait() == drfs_throttle.wait()


def test_a_log_written_by_drfs_throttle_is_read():
    clock = Clock()
    cache = LocMemCache("throttle-test-upgrade", {})
    ours = throttle_class(TokenRateThrottle, clock, cache)
    cache.set("test-throttle-TokenRateThrottle", [clock.now - 1, clock.now - 2, clock.now - 70])
    assert ours().allow_request(REQUEST, None)  # two recent, one expired: a third is allowed
    assert not ours().allow_request(REQUEST, None)
