"""The per-token throttle: DRF's sliding-log throttle over Django's cache (Redis with
CACHE_URL), letting requests through when the cache is unreachable."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from customer_intel.api import throttling
from customer_intel.api.throttling import TokenRateThrottle
from tests.embedded import run_python

REDIS_URL = django_settings.CELERY_BROKER_URL  # the tests' own Redis database
REQUEST = SimpleNamespace(auth=None, user=None)


def throttle_on(cache, *, rate: str = "3/m"):  # type: ignore[no-untyped-def]
    """Our throttle at `rate` with its log in `cache` under a key of its own."""
    key = f"test-throttle-{uuid.uuid4().hex}"

    class Throttle(TokenRateThrottle):
        def get_rate(self) -> str:
            return rate

        def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
            return key

    Throttle.cache = cache
    return Throttle, key


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, {})
    yield cache
    cache.close()


def test_a_token_past_its_rate_is_refused_with_drfs_wait(redis_cache):
    throttle, key = throttle_on(redis_cache)
    try:
        decisions = [throttle().allow_request(REQUEST, None) for _ in range(4)]
        refused = throttle()
        assert not refused.allow_request(REQUEST, None)
        assert 0 < refused.wait() <= 60
        assert decisions == [True, True, True, False]
        assert len(redis_cache.get(key)) == 3  # DRF's log, in Django's Redis cache
    finally:
        redis_cache.delete(key)


def test_it_is_drfs_throttle():
    assert issubclass(TokenRateThrottle, SimpleRateThrottle)
    assert TokenRateThrottle.allow_request.__qualname__ == "TokenRateThrottle.allow_request"
    assert "throttle_success" not in vars(TokenRateThrottle)


def test_an_unreachable_redis_lets_requests_through_with_one_warning(caplog, monkeypatch):
    # Nothing listens on port 1: the connection is refused at once.
    down = RedisCache("redis://127.0.0.1:1/0", {})
    throttle, _ = throttle_on(down, rate="1/m")
    monkeypatch.setattr(throttling, "_last_warning", -throttling.WARN_EVERY_SECONDS)
    with caplog.at_level(logging.WARNING, logger="customer_intel.api.throttling"):
        assert all(throttle().allow_request(REQUEST, None) for _ in range(5))
    warnings = [r for r in caplog.records if "cache is unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request


@pytest.mark.django_db
def test_a_token_past_its_rate_is_refused_from_the_shared_log(
    reader, reader_client, venue, monkeypatch, redis_cache
):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    monkeypatch.setattr(TokenRateThrottle, "cache", redis_cache)
    url = f"/customers/venue/{venue.pk}/segments"
    token = reader.auth_token.key
    key = f"throttle_token_token:{hashlib.sha256(token.encode()).hexdigest()[:32]}"
    store = redis.Redis.from_url(REDIS_URL)
    try:
        responses = [reader_client.get(url) for _ in range(4)]
        logged = redis_cache.get(key)
        names = [name.decode() for name in store.scan_iter(match="*throttle_*")]
    finally:
        redis_cache.delete(key)

    assert [response.status_code for response in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert refused.json()["error"]["message"].startswith("Request was throttled.")
    assert int(refused["Retry-After"]) > 0
    assert len(logged) == 3  # the log lives in Redis, where every worker reads it
    assert not any(token in name for name in names)  # the secret is not a key name


def test_the_process_cache_is_the_default():
    assert TokenRateThrottle.cache is not None
    assert type(caches["default"]).__name__ == "LocMemCache"


def test_cache_url_selects_djangos_redis_cache():
    code = (
        "import django; django.setup(); from django.core.cache import caches; "
        'print(type(caches["default"]).__name__)'
    )
    found = {}
    for name, value in (("with", "redis://127.0.0.1:6379/15"), ("without", "")):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "CACHE_URL": value}
        found[name] = run_python("-c", code, env=env).stdout.strip()
    assert found == {"with": "RedisCache", "without": "LocMemCache"}
