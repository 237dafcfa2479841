"""The declared answers: one rendering for model instances and rows alike, written as
`analytics.formats` says, and a schema of exactly the rendered keys."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from customer_intel.api.answers import (
    CUSTOMER_INSIGHTS,
    CUSTOMER_RFM,
    JOURNEY_PAGE,
    PROFILE,
    PROFILE_CSV,
    SEARCH_PAGE,
    SEGMENTS,
)
from customer_intel.api.lifetime_answers import CUSTOMER_CLV
from customer_intel.api.shapes import Nested, Shape, render
from customer_intel.models import CustomerProfile
from tests.api.conftest import make_profile

PROFILE_SHAPES = [PROFILE, CUSTOMER_RFM, CUSTOMER_CLV, CUSTOMER_INSIGHTS, PROFILE_CSV]

VARIANTS = {
    "with predictions": {
        "probability_alive": 0.8312345,
        "expected_purchases_90d": 0.4049,
        "expected_purchases_365d": 1.6,
        "predicted_clv_365d": Decimal("640.10"),
        "predicted_clv_3y": Decimal("0.00"),
        "expected_next_order_at": datetime(2026, 5, 1, 8, 30, 15, 923456, tzinfo=UTC),
        "average_days_between_orders": 91.25,
        "prediction_unavailable_reason": "",
        "total_spent": Decimal("1234.5"),
        "purchase_frequency": 2.99178,
    },
    "without predictions": {},
    "never bought": {
        "last_purchase_at": None,
        "total_purchases": 0,
        "total_spent": Decimal("0"),
        "purchase_time": None,
        "preferred_event_types": [],
        "churn_probability": None,
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
@pytest.mark.parametrize("shape", PROFILE_SHAPES, ids=lambda shape: shape.name)
def test_an_instance_and_a_row_render_alike(venue, variant, shape):
    make_profile(venue, "someone", **VARIANTS[variant])
    instance = CustomerProfile.objects.get()
    row = CustomerProfile.objects.values_list(*shape.sources, named=True).get()
    assert render(shape, instance) == render(shape, row)


@pytest.mark.django_db
def test_values_are_written_as_the_formats_say(venue):
    make_profile(venue, "someone", **VARIANTS["with predictions"])
    answer = render(PROFILE, CustomerProfile.objects.get())
    predictions = answer["predictions"]
    assert answer["totalSpent"] == "1234.50"
    assert answer["purchaseFrequency"] == 2.99
    assert predictions["probabilityAlive"] == 0.8312
    assert predictions["expectedPurchases90d"] == 0.4
    assert predictions["averageDaysBetweenOrders"] == 91.2  # round half to even
    assert predictions["expectedDateOfNextOrder"] == "2026-05-01T08:30:15Z"
    assert predictions["unavailableReason"] is None
    csv_row = render(PROFILE_CSV, CustomerProfile.objects.get())
    assert csv_row["probabilityAlive"] == 0.8312
    assert csv_row["purchaseFrequency"] == 2.99


def _keys(shape: Shape) -> dict[str, Any]:
    return {
        entry.key: _keys(entry.shape) if isinstance(entry, Nested) else None
        for entry in shape.entries
    }


def _schema_keys(serializer: Any) -> dict[str, Any]:
    fields = getattr(serializer, "child", serializer).fields
    return {
        name: _schema_keys(field) if hasattr(getattr(field, "child", field), "fields") else None
        for name, field in fields.items()
    }


@pytest.mark.parametrize(
    "shape",
    [*PROFILE_SHAPES, SEARCH_PAGE, SEGMENTS, JOURNEY_PAGE],
    ids=lambda shape: shape.name,
)
def test_the_schema_documents_exactly_the_rendered_keys(shape):
    documented = _schema_keys(shape.serializer())
    if shape is CUSTOMER_INSIGHTS:
        documented["insights"] = None  # stored as written, documented by the Insight shape
    assert documented == _keys(shape)
