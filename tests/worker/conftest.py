"""Real brokers and real workers for the tests that need them.

Each test gets a Redis of its own on a free port (so it can stop and restart it, and no message
of another test reaches its worker) and starts its own worker subprocesses; everything started
here is killed by pid in teardown.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from customer_intel.models import CustomerProfile, EventType, Venue
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY_BIN = Path(sys.executable).with_name("celery")
REDIS_SERVER = "redis-server"
# Generous: the machine is shared and a worker imports Django before it consumes anything.
WORKER_DEADLINE = 60.0


def wait_for(
    condition: Callable[[], Any], *, timeout: float = WORKER_DEADLINE, what: str = "condition"
) -> Any:
    """Poll `condition` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server subprocess on a fixed free port that the test can stop and restart."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what=f"redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """Keep accepting connections but never answer (a hung or swapping broker)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def _reset_producer_pools() -> None:
    """Drop the app's cached broker connections so the next publish uses the current URL."""
    kombu.pools.reset()  # the process-wide pools are keyed by connection and would be reused
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def use_broker() -> Iterator[Callable[[str], None]]:
    """Point this process's Celery app (what `queue_recompute` publishes with) at a broker."""
    original = celery_app.conf.broker_url

    def use(url: str) -> None:
        celery_app.conf.broker_url = url
        _reset_producer_pools()

    try:
        yield use
    finally:
        celery_app.conf.broker_url = original
        _reset_producer_pools()


class WorkerProcess:
    """`celery worker` as a subprocess of the test, against the test database."""

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="celery-worker-", suffix=".log", delete=False
        )
        database = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "TEST_DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}",
            "TEST_CELERY_BROKER_URL": broker_url,
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [
                str(CELERY_BIN),
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def start_worker(request: pytest.FixtureRequest) -> Iterator[Callable[[str], WorkerProcess]]:
    """Start worker subprocesses; each is killed (and its log shown on failure) at teardown."""
    workers: list[WorkerProcess] = []

    def start(broker_url: str) -> WorkerProcess:
        worker = WorkerProcess(broker_url)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                sys.stderr.write(f"\n--- worker {worker.pid} log ---\n{worker.output()[-6000:]}\n")
            worker.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    # Lets teardown know whether the test failed, to show the worker's log only then.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def ingest_purchases(
    venue: Venue, raw_customer_id: str, purchases: list[tuple[datetime, str]], *, prefix: str = ""
) -> str:
    """Store `ticket.purchased` events of (occurred_at, amount) through the ingestion service
    (which marks the customer pending); returns the customer's pseudonym."""
    customer = pseudonymize(raw_customer_id)
    events = [
        ValidatedEvent(
            event_id=f"{prefix}{raw_customer_id}-{index}",
            customer=customer,
            type=EventType.TICKET_PURCHASED,
            occurred_at=occurred_at,
            amount=Decimal(amount),
            quantity=1,
            event_category="concert",
        )
        for index, (occurred_at, amount) in enumerate(purchases)
    ]
    ingest_events(venue=venue, events=events)
    return customer


def profile_snapshot(venue: Venue) -> dict[str, tuple[Any, ...]]:
    """The venue's cached profiles as comparable values, by customer."""
    return {
        row[0]: row[1:]
        for row in CustomerProfile.objects.filter(venue=venue).values_list(
            "customer", "segment", "total_purchases", "total_spent", "computed_at"
        )
    }


def broker_messages(redis_url: str, queue: str = "celery") -> list[dict[str, Any]]:
    """The task messages waiting in a Redis queue, oldest first, as their Celery headers plus
    the decoded positional args."""
    client = redis.Redis.from_url(redis_url)
    try:
        raw_messages = client.lrange(queue, 0, -1)
    finally:
        client.close()
    messages = []
    for raw in reversed(raw_messages):  # kombu pushes on the left and pops on the right
        envelope = json.loads(raw)
        body = json.loads(base64.b64decode(envelope["body"]))
        messages.append({**envelope["headers"], "args": body[0]})
    return messages
