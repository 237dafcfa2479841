"""Builders for the API tests: profiles written directly, events through ingestion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from customer_intel.models import CustomerProfile, SegmentSnapshot, Venue
from tests.factories import EventFactory, ProfileFactory, UserFactory, token_for

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COMPUTED_AT = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)


def make_profile(venue: Venue, raw_id: str, **fields: Any) -> CustomerProfile:
    """The API tests' reference profile of the customer `raw_id`, as of AS_OF, with figures
    the answers are checked against and no usable prediction; `fields` override."""
    last_purchase = fields.pop("last_purchase_at", AS_OF - timedelta(days=10))
    values: dict[str, Any] = {
        "total_purchases": 3,
        "total_spent": Decimal("150.00"),
        "total_tickets": 4,
        "average_order_value": Decimal("50.00"),
        "days_since_last_purchase": 10 if last_purchase else None,
        "first_seen": AS_OF - timedelta(days=200),
        "last_seen": AS_OF - timedelta(days=5),
        "first_purchase_at": AS_OF - timedelta(days=190) if last_purchase else None,
        "last_purchase_at": last_purchase,
        "churn_probability": 0.07 if last_purchase else None,
        "predicted_lifetime_value": Decimal("450.00"),
        "preferred_event_types": ["concert", "comedy"],
        "second_event_type": "comedy",
        "rfm_recency": 10,
        "rfm_frequency": 4,
        "rfm_monetary": Decimal("150.00"),
        "recency_score": 5,
        "monetary_score": 2,
        "insights": [],
        "probability_alive": None,
        "expected_purchases_365d": None,
        "predicted_clv_365d": None,
        "prediction_unavailable_reason": "Too few repeat customers to fit the model.",
        "as_of": AS_OF,
        "computed_at": COMPUTED_AT,
    }
    values.update(fields)
    return ProfileFactory(venue=venue, raw_id=raw_id, **values)


def make_event(venue: Venue, raw_id: str, event_id: str, type: str, at: datetime, **fields: Any):  # type: ignore[no-untyped-def]
    """An event with the model's defaults (no amount, no category) but what `fields` set."""
    values: dict[str, Any] = {"amount": None, "event_category": ""}
    values.update(fields)
    return EventFactory(
        venue=venue, raw_id=raw_id, event_id=event_id, type=type, occurred_at=at, **values
    )


def make_snapshot(venue: Venue, **fields: Any) -> SegmentSnapshot:
    return SegmentSnapshot.objects.create(venue=venue, **fields)


@pytest.fixture
def staff_client(db) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(is_staff=True))}")
    return client
