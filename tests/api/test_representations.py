"""The fast JSON of profiles is exactly what the documented serializers give."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from customer_intel.api.customers_serializers import (
    CustomerClvSerializer,
    CustomerProfileSerializer,
    CustomerRfmSerializer,
    customer_clv_json,
    customer_rfm_json,
    profile_json,
)
from tests.api.conftest import make_profile

VARIANTS = {
    "with predictions": {
        "probability_alive": 0.8312345,
        "expected_purchases_90d": 0.4,
        "expected_purchases_365d": 1.6,
        "predicted_clv_365d": Decimal("640.10"),
        "predicted_clv_3y": Decimal("0.00"),
        "expected_next_order_at": datetime(2026, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
        "average_days_between_orders": 91.25,
        "prediction_unavailable_reason": "",
        "total_spent": Decimal("1234.5"),
    },
    "without predictions": {},
    "never bought": {
        "last_purchase_at": None,
        "total_purchases": 0,
        "total_spent": Decimal("0"),
        "purchase_time": None,
        "preferred_event_types": [],
        "rfm_recency": None,
        "rfm_frequency": None,
        "rfm_monetary": None,
        "recency_score": None,
        "frequency_score": None,
        "monetary_score": None,
        "rfm_segment": "Prospects",
        "segment": "new",
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_json_matches_the_serializers(venue, variant):
    make_profile(venue, "someone", **VARIANTS[variant])
    profile = type(venue).objects.get(pk=venue.pk).profiles.get()  # as read from the database
    assert profile_json(profile) == CustomerProfileSerializer(profile).data
    assert customer_rfm_json(profile) == CustomerRfmSerializer(profile).data
    assert customer_clv_json(profile) == CustomerClvSerializer(profile).data
