"""Queries compiled once per shape of their values answer what the ORM's own queries answer,
for every value filled in later; values the ORM transforms are never compiled in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_intel.api.compiled import CompiledShapes
from customer_intel.api.customers_views import SHAPES
from customer_intel.models import CustomerProfile
from customer_intel.privacy import resolve_customer_id
from tests.api.conftest import AS_OF, make_profile

pytestmark = pytest.mark.django_db


def _build(values):  # type: ignore[no-untyped-def]
    profiles = CustomerProfile.objects.filter(venue_id=values["venue"])
    if "segments" in values:
        profiles = profiles.filter(segment__in=values["segments"])
    if "spent" in values:
        profiles = profiles.filter(total_spent__gte=values["spent"])
    if "after" in values:
        profiles = profiles.filter(last_purchase_at__gte=values["after"])
    if "customer" in values:
        profiles = profiles.filter(customer=resolve_customer_id(values["customer"]))
    if "churn" in values:
        profiles = profiles.filter(churn_probability__gte=values["churn"])
    return profiles.order_by("id").values_list("id", "customer", named=True)


@pytest.fixture
def customers(venue):
    specs = [
        ("ann", "vip", Decimal("900.00"), AS_OF - timedelta(days=3), 0.1),
        ("bob", "regular", Decimal("150.00"), AS_OF - timedelta(days=40), 0.3),
        ("cid", "regular", Decimal("320.50"), AS_OF - timedelta(days=400), 0.8),
        ("dee", "lost", Decimal("20.00"), AS_OF - timedelta(days=800), 0.95),
    ]
    for raw_id, segment, spent, last, churn in specs:
        make_profile(
            venue,
            raw_id,
            segment=segment,
            total_spent=spent,
            last_purchase_at=last,
            churn_probability=churn,
        )
    return venue


VALUE_SETS = [
    {"segments": ["vip"]},
    {"segments": ["regular"]},
    {"segments": ["regular", "lost"]},
    {"segments": ["vip", "lost"]},
    {"spent": Decimal("150.00")},
    {"spent": Decimal("320.51")},
    {"segments": ["regular"], "spent": Decimal("200")},
    {"segments": ["lost"], "spent": Decimal("0.01")},
    {"after": AS_OF - timedelta(days=41)},
    {"after": datetime(2000, 1, 1, tzinfo=UTC)},
]


def test_every_value_of_a_shape_answers_as_the_orm(customers):
    shapes = CompiledShapes()
    for extra in VALUE_SETS:
        values = {"venue": customers.pk, **extra}
        expected = list(_build(values))
        assert shapes.rows("test", values, _build) == expected, extra
    assert all(compiled is not None for compiled in shapes._shapes.values())
    assert len(shapes._shapes) == 5  # one, two segments; spent; segment and spent; after


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        # Hashed before it reaches SQL: compiling it would answer the first customer forever.
        ("customer", "ann", "bob"),
        # Compared with a float column, the decimal is converted.
        ("churn", Decimal("0.2"), Decimal("0.9")),
    ],
)
def test_a_value_the_orm_transforms_is_not_compiled(customers, name, first, second):
    shapes = CompiledShapes()
    for value in (first, second):
        values = {"venue": customers.pk, name: value}
        assert shapes.rows("test", values, _build) is None
        assert list(_build(values))  # the caller's own query still finds them
    assert list(shapes._shapes.values()) == [None]


def test_a_yes_or_no_value_is_not_compiled(customers):
    shapes = CompiledShapes()

    def build(values):  # type: ignore[no-untyped-def]
        profiles = CustomerProfile.objects.filter(venue_id=values["venue"])
        return profiles.filter(purchase_time__isnull=values["none"]).values_list("id", named=True)

    assert shapes.rows("test", {"venue": customers.pk, "none": True}, build) is None


def test_search_pages_reuse_their_shape_with_other_values(reader_client, customers):
    SHAPES._shapes.clear()
    url = f"/customers/venue/{customers.pk}/search?ordering=totalSpent&segment="
    regulars = reader_client.get(url + "regular").json()["results"]
    vips = reader_client.get(url + "vip").json()["results"]
    assert [row["customerId"] for row in regulars] == [
        resolve_customer_id("bob"),
        resolve_customer_id("cid"),
    ]
    assert [row["customerId"] for row in vips] == [resolve_customer_id("ann")]
    assert len(SHAPES._shapes) == 1
    assert None not in SHAPES._shapes.values()


def test_search_pages_after_a_cursor_fill_in_its_position(reader_client, customers):
    url = f"/customers/venue/{customers.pk}/search?ordering=-totalSpent&pageSize=1"
    seen = []
    while url:
        body = reader_client.get(url).json()
        seen += [row["customerId"] for row in body["results"]]
        url = body["next"]
    expected = CustomerProfile.objects.filter(venue=customers).order_by("-total_spent", "-id")
    assert seen == list(expected.values_list("customer", flat=True))
