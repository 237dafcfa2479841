"""Builders for event payloads and the table counts ingestion tests compare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from customer_intel.models import CustomerEvent, PendingCustomer

RECENT = datetime(2026, 1, 15, 19, 30, tzinfo=UTC)


def event_payload(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid purchase event; `n` makes its eventId and customerId distinct."""
    payload: dict[str, Any] = {
        "eventId": f"evt-{n:06d}",
        "customerId": f"customer-{n % 97}",
        "type": "ticket.purchased",
        "occurredAt": (RECENT + timedelta(minutes=n)).isoformat(),
        "amount": "45.00",
        "quantity": 2,
        "currency": "USD",
        "eventCategory": "concert",
        "channel": "web",
        "campaign": "spring",
        "properties": {"seat": "A1"},
    }
    payload.update(overrides)
    return payload


def table_counts() -> tuple[int, int]:
    return CustomerEvent.objects.count(), PendingCustomer.objects.count()


@pytest.fixture
def ingest_url(venue) -> str:  # type: ignore[no-untyped-def]
    return f"/events/venue/{venue.pk}"


@pytest.fixture
def post_batch(writer_client, ingest_url) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    def post(events: Any, *, body: Any = None):  # type: ignore[no-untyped-def]
        data = {"events": events} if body is None else body
        return writer_client.post(ingest_url, data, format="json")

    return post
