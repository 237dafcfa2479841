"""Each customer endpoint's exact answer on a hand-built venue."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.models import CustomerProfile
from customer_intel.privacy import pseudonymize
from tests.api.conftest import AS_OF, make_event, make_profile, make_snapshot

RAW_ID = "alice@example.com"
PSEUDONYM = pseudonymize(RAW_ID)
INSIGHT = {
    "type": "churn_risk",
    "title": "High Churn Risk",
    "description": "Churn probability is 80%.",
    "impact": "high",
    "actionable": True,
    "suggestedActions": [
        "Send personalized retention offer",
        "Reach out with exclusive event previews",
    ],
    "validUntil": "2026-03-08T12:00:00Z",
    "metadata": {"churnProbability": 0.8},
}


@pytest.fixture
def alice(venue):
    return make_profile(
        venue,
        RAW_ID,
        total_spent=Decimal("1234.50"),
        average_order_value=Decimal("411.50"),
        predicted_lifetime_value=Decimal("3703.50"),
        insights=[INSIGHT],
        probability_alive=0.83,
        expected_purchases_90d=0.41,
        expected_purchases_365d=1.62,
        predicted_clv_365d=Decimal("640.12"),
        predicted_clv_3y=Decimal("1650.00"),
        expected_next_order_at=datetime(2026, 5, 1, tzinfo=UTC),
        average_days_between_orders=90.0,
        prediction_model="mbgnbd",
        prediction_unavailable_reason="",
    )


def url(venue, customer: str, tail: str = "") -> str:
    return f"/customers/venue/{venue.pk}/{customer}{tail}"


@pytest.mark.django_db
def test_profile(reader_client, venue, alice):
    response = reader_client.get(url(venue, PSEUDONYM))
    assert response.status_code == 200
    assert response.json() == {
        "customerId": PSEUDONYM,
        "venueId": str(venue.pk),
        "firstSeen": "2025-08-13T12:00:00Z",
        "lastSeen": "2026-02-24T12:00:00Z",
        "totalPurchases": 3,
        "totalSpent": "1234.50",
        "totalTickets": 4,
        "averageOrderValue": "411.50",
        "refundsExceedPurchases": False,
        "purchaseFrequency": 3.0,
        "daysSinceLastPurchase": 10,
        "segment": "regular",
        "predictedLifetimeValue": "3703.50",
        "churnProbability": 0.07,
        "attributes": {
            "preferences": {"eventTypes": ["concert", "comedy"]},
            "behavior": {"purchaseTime": "evening"},
        },
        "firstPurchaseAt": "2025-08-23T12:00:00Z",
        "lastPurchaseAt": "2026-02-19T12:00:00Z",
        "rfm": {
            "recency": 10,
            "frequency": 4,
            "monetary": "150.00",
            "recencyScore": 5,
            "frequencyScore": 3,
            "monetaryScore": 2,
            "segment": "Potential Loyalists",
        },
        "predictions": {
            "probabilityAlive": 0.83,
            "expectedPurchases90d": 0.41,
            "expectedPurchases365d": 1.62,
            "predictedClv365d": "640.12",
            "predictedClv3y": "1650.00",
            "expectedDateOfNextOrder": "2026-05-01T00:00:00Z",
            "averageDaysBetweenOrders": 90.0,
            "predictionModel": "MBG/NBD",
            "unavailableReason": None,
        },
        "asOf": "2026-03-01T12:00:00Z",
        "computedAt": "2026-03-01T12:05:00Z",
    }


@pytest.mark.django_db
def test_profile_by_raw_id_answers_the_pseudonym_and_never_echoes_the_raw_id(
    reader_client, venue, alice, caplog
):
    caplog.set_level(logging.DEBUG)
    found = reader_client.get(url(venue, RAW_ID))
    missing = reader_client.get(url(venue, "bob@example.com"))
    assert found.status_code == 200
    assert found.json()["customerId"] == PSEUDONYM
    assert RAW_ID not in found.content.decode()
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"status": 404, "code": "not_found", "message": "Customer not found."}
    }
    assert "bob@example.com" not in caplog.text


@pytest.mark.django_db
def test_predictions_are_null_with_a_reason_when_unavailable(reader_client, venue):
    make_profile(venue, RAW_ID)
    predictions = reader_client.get(url(venue, RAW_ID)).json()["predictions"]
    assert predictions == {
        "probabilityAlive": None,
        "expectedPurchases90d": None,
        "expectedPurchases365d": None,
        "predictedClv365d": None,
        "predictedClv3y": None,
        "expectedDateOfNextOrder": None,
        "averageDaysBetweenOrders": None,
        "predictionModel": None,
        "unavailableReason": "Too few repeat customers to fit the model.",
    }


@pytest.mark.django_db
def test_insights(reader_client, venue, alice):
    assert reader_client.get(url(venue, PSEUDONYM, "/insights")).json() == {
        "customerId": PSEUDONYM,
        "insights": [INSIGHT],
        "asOf": "2026-03-01T12:00:00Z",
        "computedAt": "2026-03-01T12:05:00Z",
    }


@pytest.mark.django_db
def test_rfm(reader_client, venue, alice):
    assert reader_client.get(url(venue, PSEUDONYM, "/rfm")).json() == {
        "customerId": PSEUDONYM,
        "recency": 10,
        "frequency": 4,
        "monetary": "150.00",
        "recencyScore": 5,
        "frequencyScore": 3,
        "monetaryScore": 2,
        "segment": "Potential Loyalists",
        "asOf": "2026-03-01T12:00:00Z",
        "computedAt": "2026-03-01T12:05:00Z",
    }


@pytest.mark.django_db
def test_clv_groups_the_audit_rule_and_the_model_and_recommends_the_model(
    reader_client, venue, alice
):
    body = reader_client.get(url(venue, PSEUDONYM, "/clv")).json()
    assert body.pop("predictions")["predictedClv365d"] == "640.12"
    assert body == {
        # The old keys keep their meaning: predictedLifetimeValue is the audit rule's.
        "customerId": PSEUDONYM,
        "averageOrderValue": "411.50",
        "purchaseFrequency": 3.0,
        "horizonYears": 3,
        "historicalValue": "1234.50",
        "predictedLifetimeValue": "3703.50",
        "auditRule": {
            "method": "Audit rule: averageOrderValue × purchaseFrequency × 3",  # noqa: RUF001
            "averageOrderValue": "411.50",
            "purchaseFrequency": 3.0,
            "horizonYears": 3,
            "predictedLifetimeValue": "3703.50",
            "churnMethod": "Audit rule: a step function of daysSinceLastPurchase",
            "churnProbability": 0.07,
        },
        "model": {
            "method": "MBG/NBD with Gamma-Gamma",
            "probabilityAlive": 0.83,
            "expectedPurchases365d": 1.62,
            "predictedClv365d": "640.12",
            "predictedClv3y": "1650.00",
            "unavailableReason": None,
        },
        "recommended": "model",
        "asOf": "2026-03-01T12:00:00Z",
        "computedAt": "2026-03-01T12:05:00Z",
    }


@pytest.mark.django_db
def test_clv_recommends_the_audit_rule_without_a_usable_fit(reader_client, venue):
    make_profile(venue, RAW_ID)
    body = reader_client.get(url(venue, RAW_ID, "/clv")).json()
    assert body["recommended"] == "auditRule"
    assert body["predictedLifetimeValue"] == body["auditRule"]["predictedLifetimeValue"] == "450.00"
    assert body["model"] == {
        "method": None,
        "probabilityAlive": None,
        "expectedPurchases365d": None,
        "predictedClv365d": None,
        "predictedClv3y": None,
        "unavailableReason": "Too few repeat customers to fit the model.",
    }


@pytest.mark.django_db
def test_an_overlong_customer_id_is_a_400_naming_it(reader_client, venue):
    response = reader_client.get(url(venue, "x" * 257))
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["customerId"]
    assert "x" * 257 not in response.content.decode()


@pytest.mark.django_db
def test_a_profile_of_another_venue_is_not_found(reader_client, venue):
    from tests.factories import VenueFactory

    make_profile(VenueFactory(), RAW_ID)
    assert reader_client.get(url(venue, RAW_ID)).status_code == 404


@pytest.mark.django_db
def test_segments_from_the_snapshot(reader_client, venue):
    make_snapshot(
        venue,
        segment_counts={"vip": 1, "regular": 2, "new": 3},
        rfm_segment_counts={"Champions": 1, "Prospects": 5},
        total_customers=6,
        as_of=AS_OF,
        computed_at=AS_OF + timedelta(minutes=5),
    )
    body = reader_client.get(f"/customers/venue/{venue.pk}/segments").json()
    assert body == {
        "venueId": str(venue.pk),
        "by": "segment",
        "segments": [
            {"segment": "new", "count": 3, "percentage": 50.0},
            {"segment": "occasional", "count": 0, "percentage": 0.0},
            {"segment": "regular", "count": 2, "percentage": 33.33},
            {"segment": "vip", "count": 1, "percentage": 16.67},
            {"segment": "at_risk", "count": 0, "percentage": 0.0},
            {"segment": "dormant", "count": 0, "percentage": 0.0},
            {"segment": "lost", "count": 0, "percentage": 0.0},
        ],
        "totalCustomers": 6,
        "asOf": "2026-03-01T12:00:00Z",
        "computedAt": "2026-03-01T12:05:00Z",
    }
    rfm = reader_client.get(f"/customers/venue/{venue.pk}/segments?by=rfm").json()
    assert [row["segment"] for row in rfm["segments"]] == list(RFM_SEGMENTS)
    shares = {row["segment"]: (row["count"], row["percentage"]) for row in rfm["segments"]}
    assert shares["Champions"] == (1, 16.67)
    assert shares["Prospects"] == (5, 83.33)
    assert shares["Lost"] == (0, 0.0)


@pytest.mark.django_db
def test_segments_before_any_run_are_zeros(reader_client, venue):
    make_profile(venue, RAW_ID)  # a profile without a snapshot is not counted by scanning
    body = reader_client.get(f"/customers/venue/{venue.pk}/segments").json()
    assert body["totalCustomers"] == 0
    assert body["asOf"] is None and body["computedAt"] is None
    assert {row["count"] for row in body["segments"]} == {0}
    assert len(body["segments"]) == 7


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["by=vip", "by=", "format=xml"])
def test_segments_reject_bad_parameters(reader_client, venue, query):
    response = reader_client.get(f"/customers/venue/{venue.pk}/segments?{query}")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [query.split("=")[0]]


@pytest.mark.django_db
def test_a_customer_with_events_but_no_profile_is_computed_on_demand(reader_client, venue):
    make_event(venue, RAW_ID, "e1", "ticket.purchased", AS_OF - timedelta(days=3), amount="80.00")
    make_event(venue, RAW_ID, "e2", "page.viewed", AS_OF - timedelta(days=1))
    assert not CustomerProfile.objects.exists()

    body = reader_client.get(url(venue, RAW_ID)).json()

    assert body["customerId"] == PSEUDONYM
    assert body["totalPurchases"] == 1
    assert body["totalSpent"] == "80.00"
    assert body["firstSeen"] == "2026-02-26T12:00:00Z"
    assert body["lastSeen"] == "2026-02-28T12:00:00Z"
    stored = CustomerProfile.objects.get(venue=venue, customer=PSEUDONYM)
    assert stored.total_spent == Decimal("80.00")
    for tail in ("/insights", "/rfm", "/clv"):
        assert reader_client.get(url(venue, RAW_ID, tail)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("tail", ["", "/rfm", "/journey"])
def test_a_customer_id_with_a_slash_gets_a_json_404(reader_client, venue, tail):
    response = reader_client.get(url(venue, "a/b", tail))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Customer not found."
