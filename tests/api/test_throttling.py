"""The per-token throttle: DRF's sliding-log rule, with its log in the process's cache or in
Redis (CACHE_URL)."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from customer_intel.api import throttling
from customer_intel.api.throttling import TokenRateThrottle
from tests.embedded import run_python

REDIS_URL = django_settings.CELERY_BROKER_URL  # the tests' own Redis database
REQUEST = SimpleNamespace(auth=None, user=None)


class Clock:
    def __init__(self) -> None:
        self.now = 1_732_440_000.123456  # a real epoch time: precision matters in Redis

    def __call__(self) -> float:
        return self.now


def throttle_class(base: type, clock: Clock, key: str) -> type:
    class Throttle(base):  # type: ignore[misc, valid-type]
        rate = "3/m"
        timer = clock
        scope = "token"
        cache = LocMemCache(f"throttle-test-{key}", {})

        def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
            return key

    return Throttle


@pytest.fixture
def redis_log(settings):  # type: ignore[no-untyped-def]
    """The throttle keeping its log in the tests' Redis database, under a key of its own."""
    settings.CACHE_URL = REDIS_URL
    key = f"test-throttle-{uuid.uuid4().hex}"
    yield key
    redis.Redis.from_url(REDIS_URL).delete(f"customer-intel:{key}")


STEPS = [0, 1, 1, 1, 20, 38, 1, 1, 30, 61, 0, 5, 0.5, 59.5, 0.000001]


def _same_as_drf(ours: type, clock: Clock) -> None:
    drfs = throttle_class(SimpleRateThrottle, clock, f"drf-{uuid.uuid4().hex}")
    for step in STEPS:
        clock.now += step
        ours_throttle, drfs_throttle = ours(), drfs()
        allowed = ours_throttle.allow_request(REQUEST, None)
        assert allowed == drfs_throttle.allow_request(REQUEST, None), clock.now
        if not allowed:
            assert ours_throttle.wait() == pytest.approx(drfs_throttle.wait(), abs=1e-6)


def test_same_decisions_and_waits_as_drfs_sliding_log():
    clock = Clock()
    _same_as_drf(throttle_class(TokenRateThrottle, clock, f"ours-{uuid.uuid4().hex}"), clock)


def test_same_decisions_and_waits_with_the_log_in_redis(redis_log):
    clock = Clock()
    _same_as_drf(throttle_class(TokenRateThrottle, clock, redis_log), clock)


def test_a_log_written_by_drfs_throttle_is_read():
    clock = Clock()
    key = f"upgrade-{uuid.uuid4().hex}"
    ours = throttle_class(TokenRateThrottle, clock, key)
    ours.cache.set(key, [clock.now - 1, clock.now - 2, clock.now - 70])
    assert ours().allow_request(REQUEST, None)  # two recent, one expired: a third is allowed
    assert not ours().allow_request(REQUEST, None)


def test_every_process_counts_the_same_log_in_redis(redis_log, settings):
    # Two clients of the same server (as two workers or hosts would have).
    clock = Clock()
    throttle = throttle_class(TokenRateThrottle, clock, redis_log)
    other_client = REDIS_URL.replace("127.0.0.1", "localhost")
    decisions = []
    for url in (REDIS_URL, other_client, REDIS_URL, other_client):
        settings.CACHE_URL = url
        decisions.append(throttle().allow_request(REQUEST, None))
    assert decisions == [True, True, True, False]  # three a minute, counted once
    assert throttling._redis_record(REDIS_URL) is not throttling._redis_record(other_client)


@pytest.mark.parametrize("store", ["process", "redis"])
def test_an_unreachable_store_lets_requests_through(store, settings, caplog, monkeypatch):
    throttle = throttle_class(TokenRateThrottle, Clock(), f"down-{uuid.uuid4().hex}")
    if store == "redis":
        settings.CACHE_URL = "redis://127.0.0.1:1/0"  # nothing listens: refused at once
    else:
        monkeypatch.setattr(throttle.cache, "get", _refuse)
    monkeypatch.setattr(throttling, "_last_warning", -throttling.WARN_EVERY_SECONDS)
    with caplog.at_level(logging.WARNING, logger="customer_intel.api.throttling"):
        assert all(throttle().allow_request(REQUEST, None) for _ in range(5))
    warnings = [r for r in caplog.records if "cache is unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request


def _refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise ConnectionError("refused")


@pytest.mark.django_db
def test_a_token_past_its_rate_is_refused_from_the_shared_log(
    reader, reader_client, venue, monkeypatch, settings
):
    settings.CACHE_URL = REDIS_URL
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    url = f"/customers/venue/{venue.pk}/segments"
    token = reader.auth_token.key
    key = f"customer-intel:throttle_token_token:{hashlib.sha256(token.encode()).hexdigest()[:32]}"
    store = redis.Redis.from_url(REDIS_URL)
    try:
        responses = [reader_client.get(url) for _ in range(4)]
        logged = store.zcard(key)
        keys = [k.decode() for k in store.scan_iter(match="customer-intel:throttle_*")]
    finally:
        store.delete(key)

    assert [response.status_code for response in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert refused.json()["error"]["message"].startswith("Request was throttled.")
    assert int(refused["Retry-After"]) > 0
    assert logged == 3  # the log lives in Redis, where every worker reads it
    assert not any(token in k for k in keys)  # the secret is not a key name


def test_cache_url_selects_the_shared_cache():
    code = (
        "import django; django.setup(); from django.core.cache import caches; "
        'print(type(caches["default"]).__name__)'
    )
    found = {}
    for name, value in (("with", "redis://127.0.0.1:6379/15"), ("without", "")):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "CACHE_URL": value}
        found[name] = run_python("-c", code, env=env).stdout.strip()
    assert found == {"with": "RedisCache", "without": "LocMemCache"}
