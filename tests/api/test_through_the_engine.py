"""The read API over profiles the real engine computed from ingested events."""

from __future__ import annotations

import pytest

from customer_intel.models import RunMode
from customer_intel.privacy import pseudonymize
from customer_intel.services.recompute import run_recompute
from tests.api.conftest import AS_OF

EVENTS = [
    # A: three purchases, one refund; regular, a big spender.
    ("a1", "cust-a", "ticket.purchased", "2025-09-01T19:00:00Z", "300.00", 2, "concert"),
    ("a2", "cust-a", "ticket.purchased", "2026-01-15T20:00:00Z", "500.00", 1, "concert"),
    ("a3", "cust-a", "ticket.purchased", "2026-02-20T10:00:00Z", "400.00", 3, "comedy"),
    ("a4", "cust-a", "ticket.refunded", "2026-02-21T09:00:00Z", "100.00", 1, "comedy"),
    # B: browsed, never bought.
    ("b1", "cust-b", "page.viewed", "2026-02-01T08:00:00Z", None, 1, ""),
    # C: one purchase over a year ago.
    ("c1", "cust-c", "ticket.purchased", "2025-01-10T13:00:00Z", "50.00", 1, "comedy"),
]


@pytest.fixture
def computed_venue(venue, writer_client):
    batch = [
        {
            "eventId": event_id,
            "customerId": customer,
            "type": type_,
            "occurredAt": at,
            **({"amount": amount} if amount else {}),
            "quantity": quantity,
            **({"eventCategory": category} if category else {}),
        }
        for event_id, customer, type_, at, amount, quantity, category in EVENTS
    ]
    response = writer_client.post(f"/events/venue/{venue.pk}", {"events": batch}, format="json")
    assert response.status_code == 200, response.content
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=AS_OF)
    return venue


@pytest.mark.django_db
def test_profile_figures_follow_the_spec(reader_client, computed_venue):
    body = reader_client.get(f"/customers/venue/{computed_venue.pk}/cust-a").json()
    assert body["customerId"] == pseudonymize("cust-a")
    assert body["totalPurchases"] == 3
    assert body["totalSpent"] == "1100.00"
    assert body["totalTickets"] == 5
    assert body["averageOrderValue"] == "366.67"
    assert body["daysSinceLastPurchase"] == 9
    assert body["purchaseFrequency"] == 3.0
    assert body["segment"] == "regular"
    assert body["churnProbability"] == pytest.approx(0.07)
    assert body["predictedLifetimeValue"] == "3300.03"
    assert body["attributes"] == {
        "preferences": {"eventTypes": ["concert", "comedy"]},
        "behavior": {"purchaseTime": "evening"},
    }
    assert body["rfm"] == {
        "recency": 9,
        "frequency": 5,
        "monetary": "1100.00",
        "recencyScore": 5,
        "frequencyScore": 3,
        "monetaryScore": 5,
        "segment": "Potential Loyalists",
    }
    assert body["asOf"] == "2026-03-01T12:00:00Z"
    insights = reader_client.get(f"/customers/venue/{computed_venue.pk}/cust-a/insights").json()
    types = [insight["type"] for insight in insights["insights"]]
    assert "high_value" in types and "churn_risk" not in types


@pytest.mark.django_db
def test_a_lost_customer_and_a_prospect(reader_client, computed_venue):
    lost = reader_client.get(f"/customers/venue/{computed_venue.pk}/cust-c").json()
    assert (lost["segment"], lost["daysSinceLastPurchase"]) == ("lost", 414)
    assert lost["churnProbability"] == pytest.approx(0.8)
    rfm = reader_client.get(f"/customers/venue/{computed_venue.pk}/cust-b/rfm").json()
    assert rfm["segment"] == "Prospects"
    assert rfm["recencyScore"] is None


@pytest.mark.django_db
def test_segments_and_search_over_the_run(reader_client, computed_venue):
    segments = reader_client.get(f"/customers/venue/{computed_venue.pk}/segments").json()
    counts = {row["segment"]: (row["count"], row["percentage"]) for row in segments["segments"]}
    assert segments["totalCustomers"] == 3
    # A third each: the hundredth left over goes to the first (largest remainder, ties in order).
    assert (counts["new"], counts["regular"], counts["lost"]) == (
        (1, 33.34),
        (1, 33.33),
        (1, 33.33),
    )
    assert counts["vip"] == (0, 0.0)
    assert segments["asOf"] == "2026-03-01T12:00:00Z"

    search = reader_client.get(
        f"/customers/venue/{computed_venue.pk}/search?segment=lost,regular&ordering=totalSpent"
    ).json()
    assert [row["customerId"] for row in search["results"]] == [
        pseudonymize("cust-c"),
        pseudonymize("cust-a"),
    ]


@pytest.mark.django_db
def test_refunds_beyond_the_purchases_are_flagged_and_the_spend_floored(
    reader_client, writer_client, venue
):
    batch = [
        {"eventId": "d1", "customerId": "cust-d", "type": "ticket.purchased",
         "occurredAt": "2026-02-01T19:00:00Z", "amount": "50.00", "quantity": 1},
        {"eventId": "d2", "customerId": "cust-d", "type": "ticket.refunded",
         "occurredAt": "2026-02-02T19:00:00Z", "amount": "80.00", "quantity": 1},
        {"eventId": "e1", "customerId": "cust-e", "type": "ticket.purchased",
         "occurredAt": "2026-02-01T19:00:00Z", "amount": "50.00", "quantity": 1},
        {"eventId": "e2", "customerId": "cust-e", "type": "ticket.refunded",
         "occurredAt": "2026-02-02T19:00:00Z", "amount": "50.00", "quantity": 1},
    ]  # fmt: skip
    response = writer_client.post(f"/events/venue/{venue.pk}", {"events": batch}, format="json")
    assert response.status_code == 200, response.content
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=AS_OF)

    over = reader_client.get(f"/customers/venue/{venue.pk}/cust-d").json()
    even = reader_client.get(f"/customers/venue/{venue.pk}/cust-e").json()
    assert (over["refundsExceedPurchases"], over["totalSpent"]) == (True, "0.00")
    assert (even["refundsExceedPurchases"], even["totalSpent"]) == (False, "0.00")
