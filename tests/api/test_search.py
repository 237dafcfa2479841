"""Customer search: filters, ordering, keyset pages, parameter errors, and the CSV stream."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing

from customer_intel.api.answers import PROFILE_CSV
from customer_intel.api.pagination import CURSOR_SALT
from customer_intel.models import CustomerProfile
from customer_intel.privacy import pseudonymize
from tests.api.conftest import AS_OF, make_profile
from tests.factories import MembershipFactory, VenueFactory


def search(client, venue, query: str = ""):  # type: ignore[no-untyped-def]
    return client.get(f"/customers/venue/{venue.pk}/search?{query}")


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [row["customerId"] for row in response.json()["results"]]


@pytest.fixture
def people(venue):
    """Five customers; `None` churn for the one who never bought."""
    make_profile(
        venue,
        "vip",
        segment="vip",
        total_spent=Decimal("2000.00"),
        churn_probability=0.05,
        rfm_segment="Champions",
        purchase_time="morning",
        top_event_type="opera",
        second_event_type="",
        probability_alive=0.9,
        predicted_clv_365d=Decimal("900.00"),
    )
    make_profile(
        venue,
        "regular",
        segment="regular",
        total_spent=Decimal("400.00"),
        churn_probability=0.14,
        last_purchase_at=AS_OF - timedelta(days=40),
        probability_alive=0.6,
        predicted_clv_365d=Decimal("120.00"),
    )
    make_profile(
        venue,
        "risky",
        segment="at_risk",
        total_spent=Decimal("400.00"),
        churn_probability=0.6,
        last_purchase_at=AS_OF - timedelta(days=100),
        third_event_type="jazz",
        top_event_type="=cmd|' /C calc'!A0",
    )
    make_profile(
        venue,
        "lost",
        segment="lost",
        total_spent=Decimal("50.00"),
        churn_probability=0.8,
        last_purchase_at=AS_OF - timedelta(days=400),
    )
    make_profile(
        venue,
        "browser",
        segment="new",
        total_spent=Decimal("0"),
        total_purchases=0,
        last_purchase_at=None,
        rfm_segment="Prospects",
        purchase_time=None,
    )
    make_profile(VenueFactory(), "elsewhere", segment="vip", total_spent=Decimal("9999.00"))


P = {name: pseudonymize(name) for name in ("vip", "regular", "risky", "lost", "browser")}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["vip", "risky", "regular", "lost", "browser"]),
        ("segment=vip", ["vip"]),
        ("segment=vip&segment=lost", ["vip", "lost"]),
        ("segment=vip,lost&segment=new", ["vip", "lost", "browser"]),
        ("rfmSegment=Champions,Prospects", ["vip", "browser"]),
        ("minTotalSpent=400&maxTotalSpent=400", ["risky", "regular"]),
        ("minChurnProbability=0.1&maxChurnProbability=0.6", ["risky", "regular"]),
        ("minPredictedLifetimeValue=450.00&maxPredictedLifetimeValue=450", None),
        ("lastPurchaseAfter=2026-01-01", ["vip", "regular"]),
        ("lastPurchaseBefore=2026-01-01T00:00:00Z", ["risky", "lost"]),
        ("eventType=jazz", ["risky"]),
        ("eventType=comedy", ["regular", "risky", "lost", "browser"]),
        ("purchaseTime=morning", ["vip"]),
        ("minProbabilityAlive=0.7", ["vip"]),
        ("maxPredictedClv365d=500", ["regular"]),
        ("q=lost", ["lost"]),
        (f"q={pseudonymize('lost')}", ["lost"]),
        ("q=nobody", []),
        ("unknownParameter=1", ["vip", "risky", "regular", "lost", "browser"]),
    ],
)
def test_filters(reader_client, venue, people, query, expected):
    found = ids(search(reader_client, venue, query))
    if expected is None:  # every profile of this venue has the default 450.00
        expected = ["vip", "risky", "regular", "lost", "browser"]
    if query.startswith("eventType=comedy"):
        assert sorted(found) == sorted(P[name] for name in expected)
    else:
        assert found == [P[name] for name in expected]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("totalSpent", ["browser", "lost", "regular", "risky", "vip"]),
        ("-totalSpent", ["vip", "risky", "regular", "lost", "browser"]),
        # Nulls last in both directions.
        ("churnProbability", ["vip", "regular", "risky", "lost", "browser"]),
        ("-churnProbability", ["lost", "risky", "regular", "vip", "browser"]),
        ("-lastPurchaseAt", ["vip", "regular", "risky", "lost", "browser"]),
        ("probabilityAlive", ["regular", "vip", "risky", "lost", "browser"]),
    ],
)
def test_ordering_with_ties_by_id_and_nulls_last(reader_client, venue, people, ordering, expected):
    assert ids(search(reader_client, venue, f"ordering={ordering}")) == [P[n] for n in expected]


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", ["-churnProbability", "totalSpent", "probabilityAlive"])
def test_pages_walk_every_row_once_in_order(reader_client, venue, people, ordering):
    whole = ids(search(reader_client, venue, f"ordering={ordering}"))
    walked: list[str] = []
    response = search(reader_client, venue, f"ordering={ordering}&pageSize=2")
    while True:
        walked += ids(response)
        assert response.json()["pageSize"] == 2
        next_url = response.json()["next"]
        if next_url is None:
            break
        response = reader_client.get(next_url)
    assert walked == whole


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("segment=gold", "segment"),
        ("segment=vip,gold", "segment"),
        ("rfmSegment=Other", "rfmSegment"),
        ("minTotalSpent=abc", "minTotalSpent"),
        ("maxChurnProbability=NaN", "maxChurnProbability"),
        ("minTotalSpent=1E%2B200000", "minTotalSpent"),
        ("lastPurchaseAfter=yesterday", "lastPurchaseAfter"),
        ("lastPurchaseBefore=2026-13-01", "lastPurchaseBefore"),
        ("purchaseTime=night", "purchaseTime"),
        ("ordering=name", "ordering"),
        ("ordering=--totalSpent", "ordering"),
        ("pageSize=0", "pageSize"),
        ("pageSize=501", "pageSize"),
        ("pageSize=abc", "pageSize"),
        ("pageSize=%C2%B2", "pageSize"),
        ("cursor=garbage", "cursor"),
        ("q=" + "x" * 257, "q"),
        ("format=xml", "format"),
    ],
)
def test_bad_parameters_are_400_naming_them(reader_client, venue, people, query, field):
    response = search(reader_client, venue, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["error"]["details"]) == [field]


@pytest.mark.django_db
def test_a_cursor_of_another_ordering_is_refused(reader_client, venue, people):
    next_url = search(reader_client, venue, "ordering=totalSpent&pageSize=1").json()["next"]
    response = reader_client.get(next_url.replace("ordering=totalSpent", "ordering=-totalSpent"))
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cursor"]


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_csv_streams_every_matching_row_with_the_same_filters_and_order(
    reader_client, venue, people
):
    rows = read_csv(search(reader_client, venue, "format=csv&minTotalSpent=50&pageSize=1"))
    assert rows[0] == [entry.key for entry in PROFILE_CSV.entries]
    assert [row[0] for row in rows[1:]] == [P["vip"], P["risky"], P["regular"], P["lost"]]
    vip = dict(zip(rows[0], rows[1], strict=True))
    assert vip["segment"] == "vip"
    assert vip["totalSpent"] == "2000.00"
    assert vip["churnProbability"] == "0.05"
    assert vip["lastPurchaseAt"] == "2026-02-19T12:00:00Z"
    assert vip["rfmSegment"] == "Champions"
    # The audit rule's figures are also under names that say so, after the original columns.
    assert rows[0][-4:] == [
        "auditRuleChurnProbability",
        "auditRuleLifetimeValue",
        "predictionModel",
        "refundsExceedPurchases",
    ]
    assert vip["auditRuleChurnProbability"] == vip["churnProbability"]
    assert vip["auditRuleLifetimeValue"] == vip["predictedLifetimeValue"]
    assert vip["predictionModel"] == ""
    # A client-supplied category that a spreadsheet would run as a formula is kept as text.
    risky = dict(zip(rows[0], rows[2], strict=True))
    assert risky["topEventType"] == "'=cmd|' /C calc'!A0"


@pytest.mark.django_db
def test_csv_by_accept_header_and_nulls_last(reader_client, venue, people):
    response = reader_client.get(
        f"/customers/venue/{venue.pk}/search?ordering=-churnProbability", HTTP_ACCEPT="text/csv"
    )
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == [P[n] for n in ["lost", "risky", "regular", "vip"]] + [
        P["browser"]
    ]
    browser = dict(zip(rows[0], rows[-1], strict=True))
    assert browser["churnProbability"] == "" and browser["lastPurchaseAt"] == ""


@pytest.mark.django_db
def test_csv_in_many_chunks(reader_client, venue, monkeypatch):
    from customer_intel.api import search_views

    monkeypatch.setattr(search_views, "CSV_CHUNK_ROWS", 7)
    for n in range(30):
        make_profile(venue, f"c{n}", total_spent=Decimal(n))
    response = search(reader_client, venue, "format=csv&ordering=totalSpent")
    chunks = list(response.streaming_content)
    assert len(chunks) > 4
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert [row[4] for row in rows[1:]] == [f"{n}.00" for n in range(30)]


def _next_cursor(response) -> str:  # type: ignore[no-untyped-def]
    next_url = response.json()["next"]
    assert next_url is not None
    return parse_qs(urlsplit(next_url).query)["cursor"][0]


@pytest.mark.django_db
def test_a_cursor_of_another_venue_is_refused(reader, reader_client, venue, people):
    other = VenueFactory()
    MembershipFactory(user=reader, venue=other)
    for n in range(3):
        make_profile(other, f"other-{n}")
    cursor = _next_cursor(search(reader_client, venue, "pageSize=1"))
    response = search(reader_client, other, f"pageSize=1&cursor={cursor}")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cursor"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("segment=vip,lost,new", "segment=vip,lost"),
        ("minTotalSpent=10", "minTotalSpent=11"),
        ("minTotalSpent=10", ""),
    ],
)
def test_a_cursor_of_other_filters_is_refused(reader_client, venue, people, first, then):
    cursor = _next_cursor(search(reader_client, venue, f"{first}&pageSize=1"))
    response = search(reader_client, venue, f"{then}&pageSize=1&cursor={cursor}")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cursor"]


@pytest.mark.django_db
def test_the_same_filters_in_another_order_keep_the_cursor(reader_client, venue, people):
    cursor = _next_cursor(search(reader_client, venue, "segment=vip,lost,new&pageSize=1"))
    response = search(reader_client, venue, f"segment=new&segment=lost,vip&cursor={cursor}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_cursor_carries_no_row_id(reader_client, venue, people):
    response = search(reader_client, venue, "pageSize=1")
    payload = signing.loads(_next_cursor(response), salt=CURSOR_SALT)
    last = CustomerProfile.objects.get(customer=response.json()["results"][0]["customerId"])
    assert payload["k"] == last.customer
    assert last.pk not in payload.values()
    assert set(payload) == {"b", "k", "v", "n"}


@pytest.mark.django_db
def test_an_empty_cursor_is_the_first_page(reader_client, venue, people):
    assert ids(search(reader_client, venue, "cursor=")) == ids(search(reader_client, venue))


@pytest.mark.django_db
def test_a_cursor_whose_row_is_gone_is_refused(reader_client, venue, people):
    response = search(reader_client, venue, "pageSize=1")
    CustomerProfile.objects.filter(customer=response.json()["results"][0]["customerId"]).delete()
    refused = search(reader_client, venue, f"pageSize=1&cursor={_next_cursor(response)}")
    assert refused.status_code == 400
    assert list(refused.json()["error"]["details"]) == ["cursor"]
