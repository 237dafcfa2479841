"""Searches whose segment filters pick a small part of the venue sort those rows instead of
walking the ordering's index: the rule, and the same pages either way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customer_intel.api import pagination
from customer_intel.api.search_plan import SORT_AT_MOST_SHARE, sort_filtered_rows
from customer_intel.models import CustomerProfile
from tests.api.conftest import make_profile, make_snapshot

COUNTS = {"new": 10, "vip": 5, "occasional": 85}
RFM_COUNTS = {"Prospects": 10, "Champions": 5, "Hibernating": 85}


def _rule(segments=(), rfm_segments=(), field="predicted_lifetime_value") -> bool:  # type: ignore[no-untyped-def]
    return sort_filtered_rows(
        segments=list(segments),
        rfm_segments=list(rfm_segments),
        ordering_field=field,
        segment_counts=COUNTS,
        rfm_segment_counts=RFM_COUNTS,
        total=100,
    )


def test_no_segment_filter_walks_the_index():
    assert not _rule()


@pytest.mark.parametrize(
    ("segments", "rfm_segments", "expected"),
    [
        (["new"], [], True),  # 10% of the venue
        (["new", "vip"], [], SORT_AT_MOST_SHARE >= 0.15),  # 15%: at the bound
        (["occasional"], [], False),  # most of the venue
        ([], ["Prospects"], True),
        (["occasional"], ["Champions"], True),  # both filters: the smaller bounds the rows
        (["unknown"], [], True),  # a segment the snapshot lacks has no rows
    ],
)
def test_few_enough_rows_are_sorted(segments, rfm_segments, expected):
    assert _rule(segments, rfm_segments) is expected


def test_one_segment_in_spend_order_has_its_own_index():
    assert not _rule(["new"], field="total_spent")
    assert _rule(["new", "vip"], field="total_spent")


def test_an_empty_venue_walks_the_index():
    assert not sort_filtered_rows(
        segments=["new"],
        rfm_segments=[],
        ordering_field="total_spent",
        segment_counts={},
        rfm_segment_counts={},
        total=0,
    )


REGULARS = 36_000
NEWCOMERS = 4_000


def _copies(template: CustomerProfile, count: int, prefix: str, value_sql: str) -> None:
    copied = [
        field.column
        for field in CustomerProfile._meta.concrete_fields
        if field.name not in {"id", "customer", "predicted_lifetime_value"}
    ]
    columns = ", ".join(copied)
    table = CustomerProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}, customer, predicted_lifetime_value) "  # noqa: S608
            f"SELECT {columns}, md5(%s || i::text) || md5(i::text), {value_sql} "
            f"FROM {table}, generate_series(1, %s) AS i WHERE id = %s",
            [prefix, count, template.pk],
        )


@pytest.fixture
def mostly_regulars(venue):
    """A tenth of the venue new, all with lower lifetime values than any regular: a walk of
    the lifetime-value index in descending order meets them only after every regular."""
    regular = make_profile(venue, "regular", predicted_lifetime_value=Decimal(500))
    newcomer = make_profile(
        venue, "newcomer", segment="new", rfm_segment="Prospects", predicted_lifetime_value=0
    )
    _copies(regular, REGULARS, "r", "100 + i %% 300")
    _copies(newcomer, NEWCOMERS, "n", "i %% 50")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CustomerProfile._meta.db_table}")
    make_snapshot(
        venue,
        segment_counts={"regular": REGULARS + 1, "new": NEWCOMERS + 1},
        rfm_segment_counts={"Potential Loyalists": REGULARS + 1, "Prospects": NEWCOMERS + 1},
        total_customers=REGULARS + NEWCOMERS + 2,
    )
    return venue


def _walk(client, venue, query: str) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """Every page of the search: the customers and the page queries' SQL."""
    url = f"/customers/venue/{venue.pk}/search?{query}&pageSize=500"
    customers: list[str] = []
    with CaptureQueriesContext(connection) as queries:
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.content
            customers += [row["customerId"] for row in response.json()["results"]]
            url = response.json()["next"]
    page_sql = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "customer_intel_customerprofile"' in q["sql"] and "ORDER BY" in q["sql"]
    ]
    return customers, page_sql


def _sorts(sql: str) -> bool:
    """Whether a page query sorts the rows (COALESCE of the field, matching no index)."""
    return "COALESCE" in sql.rsplit("ORDER BY", 1)[-1]


def _newcomers_by_value(venue) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        CustomerProfile.objects.filter(venue=venue, segment="new")
        .order_by("-predicted_lifetime_value", "-id")
        .values_list("customer", flat=True)
    )


NEW_BY_VALUE_QUERY = "segment=new&ordering=-predictedLifetimeValue"


def test_a_small_segment_at_the_far_end_is_sorted_once_the_walk_runs_out(
    reader_client, mostly_regulars, monkeypatch
):
    monkeypatch.setattr(pagination, "WALK_BUDGET", "1ms")  # 36,000 rows come first

    customers, page_sql = _walk(reader_client, mostly_regulars, NEW_BY_VALUE_QUERY)

    assert customers == _newcomers_by_value(mostly_regulars)
    assert any(_sorts(sql) for sql in page_sql)


@pytest.mark.django_db(transaction=True)
def test_out_of_a_transaction_the_walk_runs_out_and_the_session_keeps_its_timeout(
    reader_client, mostly_regulars, monkeypatch
):
    monkeypatch.setattr(pagination, "WALK_BUDGET", "1ms")

    def statement_timeout() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]

    before = statement_timeout()
    customers, page_sql = _walk(reader_client, mostly_regulars, NEW_BY_VALUE_QUERY)

    assert customers == _newcomers_by_value(mostly_regulars)
    assert any(_sorts(sql) for sql in page_sql)
    assert statement_timeout() == before != "1ms"


def test_the_walk_within_its_budget_gives_the_same_pages(
    reader_client, mostly_regulars, monkeypatch
):
    monkeypatch.setattr(pagination, "WALK_BUDGET", "60s")

    customers, page_sql = _walk(reader_client, mostly_regulars, NEW_BY_VALUE_QUERY)

    assert customers == _newcomers_by_value(mostly_regulars)
    assert page_sql and not any(_sorts(sql) for sql in page_sql)


def test_a_large_segment_never_sorts(reader_client, mostly_regulars, monkeypatch):
    monkeypatch.setattr(pagination, "WALK_BUDGET", "1ms")
    url = f"/customers/venue/{mostly_regulars.pk}/search?segment=regular&pageSize=5"

    with CaptureQueriesContext(connection) as queries:
        response = reader_client.get(url)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 5
    assert not any(_sorts(q["sql"]) for q in queries.captured_queries)
