"""PostgreSQL's JSON of a profile is what `profile_json` (and the RFM and CLV renderings) make
of the same row, once each is written as the response's JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_intel.api.customers_serializers import (
    customer_clv_json,
    customer_rfm_json,
    profile_json,
)
from customer_intel.api.sql_json import (
    CUSTOMER_CLV_DOCUMENT_SQL,
    CUSTOMER_RFM_DOCUMENT_SQL,
    PROFILE_DOCUMENT_SQL,
    Kind,
    document_sql,
)
from customer_intel.models import CustomerProfile
from tests.api.conftest import make_profile

pytestmark = pytest.mark.django_db

INSTANTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
MONEY = st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2)
FLOATS = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)
SMALL = st.integers(min_value=0, max_value=2**31 - 1)
# PostgreSQL text and jsonb hold no NUL character, and UTF-8 no lone surrogate.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60
)


RENDERINGS = [
    (PROFILE_DOCUMENT_SQL, profile_json),
    (CUSTOMER_RFM_DOCUMENT_SQL, customer_rfm_json),
    (CUSTOMER_CLV_DOCUMENT_SQL, customer_clv_json),
]


def sql_document(profile: CustomerProfile, sql: str = PROFILE_DOCUMENT_SQL) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql} FROM {CustomerProfile._meta.db_table} WHERE id = %s",  # noqa: S608
            [profile.pk],
        )
        (text,) = cursor.fetchone()
    return orjson.loads(text)  # strict JSON: no NaN, no trailing commas


def assert_same_renderings(profile: CustomerProfile) -> None:
    for sql, render in RENDERINGS:
        # As the renderer writes the Python rendering (orjson: a float that is not finite is
        # null).
        expected = orjson.loads(orjson.dumps(render(profile)))
        assert sql_document(profile, sql) == expected, render.__name__


def test_a_stored_profile(venue):
    profile = make_profile(venue, "someone", first_seen=datetime(2025, 1, 2, 3, 4, 5, 6, UTC))
    profile.refresh_from_db()
    assert_same_renderings(profile)


def test_a_profile_without_purchases_or_predictions(venue):
    profile = make_profile(
        venue,
        "browser",
        last_purchase_at=None,
        total_purchases=0,
        total_spent=Decimal("0"),
        purchase_time=None,
        preferred_event_types=[],
        rfm_recency=None,
        rfm_monetary=None,
        recency_score=None,
        prediction_unavailable_reason="",
    )
    profile.refresh_from_db()
    assert_same_renderings(profile)
    assert sql_document(profile)["predictions"]["unavailableReason"] is None


def test_a_document_longer_than_one_concat_takes(venue):
    # 150 values and their keys are more arguments than PostgreSQL's concat() takes (100).
    document = tuple((f"k{i}", "total_tickets", Kind.AS_IS) for i in range(150))
    profile = make_profile(venue, "someone", total_tickets=7)
    assert sql_document(profile, document_sql(document)) == {f"k{i}": 7 for i in range(150)}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_float_that_is_not_finite_is_null(venue, value):
    profile = make_profile(venue, "odd", purchase_frequency=value, probability_alive=value)
    profile.refresh_from_db()
    assert_same_renderings(profile)
    document = sql_document(profile)
    assert document["purchaseFrequency"] is None
    assert document["predictions"]["probabilityAlive"] is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    instant=INSTANTS,
    money=MONEY,
    ratio=st.one_of(st.none(), FLOATS),
    frequency=FLOATS,
    count=SMALL,
    categories=st.lists(TEXT, max_size=3),
    reason=TEXT,
)
def test_any_values(venue, instant, money, ratio, frequency, count, categories, reason):
    CustomerProfile.objects.filter(venue=venue).delete()
    profile = make_profile(
        venue,
        "anyone",
        first_seen=instant,
        last_purchase_at=instant + timedelta(microseconds=1),
        expected_next_order_at=instant,
        total_spent=money,
        predicted_clv_3y=money,
        churn_probability=ratio,
        probability_alive=ratio,
        purchase_frequency=frequency,
        total_tickets=count,
        preferred_event_types=categories,
        prediction_unavailable_reason=reason[:200],
    )
    profile.refresh_from_db()
    assert_same_renderings(profile)
