"""A customer's journey: events in time order, pages, and the summary of the whole journey."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customer_intel.privacy import pseudonymize
from tests.api.conftest import AS_OF, make_event

RAW_ID = "journey-customer"
DAY = timedelta(days=1)


@pytest.fixture
def journey(venue):
    t0 = AS_OF - 60 * DAY
    make_event(venue, RAW_ID, "j1", "page.viewed", t0, channel="web")
    make_event(venue, RAW_ID, "j2", "email.opened", t0 + DAY, channel="email", campaign="spring")
    make_event(
        venue, RAW_ID, "j3", "campaign.clicked", t0 + 2 * DAY, channel="email", campaign="spring"
    )
    make_event(
        venue,
        RAW_ID,
        "j4",
        "ticket.purchased",
        t0 + 5 * DAY,
        amount="80.00",
        quantity=2,
        event_category="concert",
        channel="web",
    )
    # 40 days after the only click: outside the 30-day window, so unattributed.
    make_event(
        venue,
        RAW_ID,
        "j5",
        "ticket.purchased",
        t0 + 42 * DAY,
        amount="20.00",
        event_category="comedy",
        channel="app",
    )
    # Another customer's events never show.
    make_event(venue, "someone-else", "x1", "page.viewed", t0, channel="tv")


def url(venue, customer: str = RAW_ID) -> str:
    return f"/customers/venue/{venue.pk}/{customer}/journey"


SUMMARY = {
    "firstTouch": {
        "type": "page.viewed",
        "occurredAt": "2025-12-31T12:00:00Z",
        "channel": "web",
        "campaign": None,
    },
    "firstPurchase": {"occurredAt": "2026-01-05T12:00:00Z", "amount": "80.00"},
    "touchpointsBeforeFirstPurchase": 3,
    "channels": ["web", "email", "app"],
    "purchaseAttributions": [
        {"occurredAt": "2026-01-05T12:00:00Z", "amount": "80.00", "campaign": "spring"},
        {"occurredAt": "2026-02-11T12:00:00Z", "amount": "20.00", "campaign": None},
    ],
    "purchaseAttributionsTruncated": False,
}


@pytest.mark.django_db
def test_journey_in_time_order_with_its_summary(reader_client, venue, journey):
    body = reader_client.get(url(venue)).json()
    assert body["customerId"] == pseudonymize(RAW_ID)
    assert body["next"] is None and body["pageSize"] == 50
    assert [event["type"] for event in body["results"]] == [
        "page.viewed",
        "email.opened",
        "campaign.clicked",
        "ticket.purchased",
        "ticket.purchased",
    ]
    assert body["results"][3] == {
        "type": "ticket.purchased",
        "occurredAt": "2026-01-05T12:00:00Z",
        "amount": "80.00",
        "quantity": 2,
        "eventCategory": "concert",
        "channel": "web",
        "campaign": None,
    }
    assert body["results"][0]["eventCategory"] is None
    assert body["results"][1]["campaign"] == "spring"
    assert body["summary"] == SUMMARY
    assert RAW_ID not in reader_client.get(url(venue)).content.decode()


@pytest.mark.django_db
def test_pages_carry_the_whole_journey_summary(reader_client, venue, journey):
    first = reader_client.get(url(venue) + "?pageSize=2").json()
    second = reader_client.get(first["next"]).json()
    third = reader_client.get(second["next"]).json()
    assert [len(page["results"]) for page in (first, second, third)] == [2, 2, 1]
    assert third["next"] is None
    assert first["summary"] == second["summary"] == third["summary"] == SUMMARY
    walked = [e["occurredAt"] for page in (first, second, third) for e in page["results"]]
    assert walked == sorted(walked)


@pytest.mark.django_db
def test_unknown_customer_and_bad_page_size(reader_client, venue, journey):
    missing = reader_client.get(url(venue, "nobody"))
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Customer not found."
    for query in ("pageSize=0", "pageSize=501", "pageSize=x", "cursor=abc"):
        response = reader_client.get(url(venue) + "?" + query)
        assert response.status_code == 400
        assert list(response.json()["error"]["details"]) == [query.split("=")[0]]


@pytest.mark.django_db
def test_a_cursor_of_another_customers_journey_is_refused(reader_client, venue, journey):
    make_event(venue, "someone-else", "x2", "page.viewed", AS_OF - DAY, channel="tv")
    next_url = reader_client.get(url(venue) + "?pageSize=2").json()["next"]
    cursor = next_url.split("cursor=")[1]
    response = reader_client.get(url(venue, "someone-else") + f"?cursor={cursor}")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cursor"]
