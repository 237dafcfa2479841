"""The per-token throttle: DRF's sliding-log rule with a compact log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from customer_intel.api import throttling
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


def _redis_cache(location: str, prefix: str) -> RedisCache:
    return RedisCache(
        location,
        {"KEY_PREFIX": prefix, "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}},
    )


def test_every_process_counts_the_same_log_in_redis():
    # Two caches with their own connections stand for two workers (or hosts).
    location = settings.CELERY_BROKER_URL
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    first, second = _redis_cache(location, prefix), _redis_cache(location, prefix)
    clock = Clock()
    try:
        in_first = throttle_class(TokenRateThrottle, clock, first)
        in_second = throttle_class(TokenRateThrottle, clock, second)
        assert in_first().allow_request(REQUEST, None)
        assert in_second().allow_request(REQUEST, None)
        assert in_first().allow_request(REQUEST, None)
        assert not in_second().allow_request(REQUEST, None)  # three in a minute, counted once
    finally:
        first.delete("test-throttle-TokenRateThrottle")


def test_an_unreachable_cache_lets_requests_through(caplog, monkeypatch):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    down = _redis_cache("redis://127.0.0.1:1/0", "throttle-test-down")
    throttle = throttle_class(TokenRateThrottle, Clock(), down)
    monkeypatch.setattr(throttling, "_last_warning", -throttling.WARN_EVERY_SECONDS)
    with caplog.at_level(logging.WARNING, logger="customer_intel.api.throttling"):
        assert all(throttle().allow_request(REQUEST, None) for _ in range(5))
    warnings = [r for r in caplog.records if "cache is unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request


def test_cache_url_selects_redis():
    code = 'from django.core.cache import caches; print(type(caches["default"]).__name__)'
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    found = {}
    for name, value in (("with", "redis://127.0.0.1:6379/15"), ("without", "")):
        env["CACHE_URL"] = value
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        found[name] = done.stdout.strip()
    assert found == {"with": "RedisCache", "without": "LocMemCache"}


@pytest.mark.django_db
def test_a_token_past_its_rate_is_refused_from_the_shared_log(
    reader, reader_client, venue, monkeypatch, settings
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    url = f"/customers/venue/{venue.pk}/segments"
    key = f"throttle_token_token:{reader.auth_token.pk}"
    try:
        responses = [reader_client.get(url) for _ in range(4)]
        logged = caches["default"].get(key)
    finally:
        caches["default"].delete(key)

    assert [response.status_code for response in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert refused.json()["error"]["message"].startswith("Request was throttled.")
    assert int(refused["Retry-After"]) > 0
    assert len(logged) == 3  # the log lives in Redis, where every worker reads it
