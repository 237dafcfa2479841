"""Properties that hold for every customer, checked on generated facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from customer_intel.analytics import rfm, rules, vocabulary
from customer_intel.analytics.events import EventRecord, facts_from_events
from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.profile import compute_profile
from tests.analytics.support import AS_OF, CUSTOMER

CENTS = st.integers(min_value=0, max_value=10**11)
COUNT = st.integers(min_value=0, max_value=10_000)
SECONDS_BACK = st.integers(min_value=0, max_value=20 * 366 * 86_400)


@st.composite
def customer_facts(draw) -> CustomerFactsRow:
    purchases = draw(COUNT)
    last_back = draw(SECONDS_BACK)
    first_back = last_back + draw(SECONDS_BACK)
    last = AS_OF - timedelta(seconds=last_back)
    first = AS_OF - timedelta(seconds=first_back)
    morning = draw(st.integers(0, purchases))
    afternoon = draw(st.integers(0, purchases - morning))
    categories = draw(
        st.dictionaries(st.text(max_size=12), st.integers(0, max(purchases, 0)), max_size=6)
    )
    return CustomerFactsRow(
        customer=CUSTOMER,
        first_seen=first - timedelta(days=draw(st.integers(0, 30))),
        last_seen=last,
        purchase_count=purchases,
        purchase_cents=draw(CENTS) if purchases else 0,
        purchase_quantity=draw(COUNT),
        refund_count=draw(COUNT),
        refund_cents=draw(CENTS),
        refund_quantity=draw(COUNT),
        first_purchase_at=first if purchases else None,
        last_purchase_at=last if purchases else None,
        morning_purchases=morning,
        afternoon_purchases=afternoon,
        evening_purchases=purchases - morning - afternoon,
        category_counts=categories,
    )


@settings(max_examples=300, deadline=None)
@given(customer_facts())
def test_every_profile_is_within_the_contract(facts):
    profile = compute_profile(facts, as_of=AS_OF, currency="USD")
    bought = facts.purchase_count > 0

    assert profile.segment in vocabulary.SEGMENTS
    assert profile.rfm_segment in rfm.RFM_SEGMENTS
    assert (profile.segment == "new") is not bought
    assert (profile.rfm_segment == "Prospects") is not bought
    assert (profile.churn_probability is None) is not bought
    if bought:
        assert 0.0 <= profile.churn_probability <= 1.0
        assert {profile.recency_score, profile.frequency_score, profile.monetary_score} <= {
            1,
            2,
            3,
            4,
            5,
        }
        assert profile.purchase_time in tuple(vocabulary.PurchaseTime)
        assert profile.purchase_frequency > 0
    else:
        assert profile.purchase_time is None

    for money in (
        profile.total_spent,
        profile.average_order_value,
        profile.predicted_lifetime_value,
    ):
        assert money >= 0
        assert money.as_tuple().exponent == -2
    assert profile.total_tickets >= 0
    assert profile.average_order_value <= profile.total_spent
    assert len(profile.preferred_event_types) <= 3
    assert "" not in profile.preferred_event_types
    padded = [*profile.preferred_event_types, "", "", ""][:3]
    assert [profile.top_event_type, profile.second_event_type, profile.third_event_type] == padded


@given(
    days=st.one_of(st.none(), st.integers(0, 100_000)),
    frequency=st.floats(0, 1_000, allow_nan=False),
    spent=CENTS,
)
def test_segment_and_churn_are_always_defined(days, frequency, spent):
    segment = rules.segment(
        days_since_last_purchase=days, total_spent_cents=spent, purchase_frequency=frequency
    )
    churn = rules.churn_probability(days_since_last_purchase=days, purchase_frequency=frequency)
    assert segment in vocabulary.SEGMENTS
    if days is None:
        assert (segment, churn) == ("new", None)
    else:
        assert churn is not None and 0.0 <= churn <= 1.0


@given(
    days=st.integers(0, 3_000),
    more=st.integers(1, 3_000),
    frequency=st.floats(0, 100, allow_nan=False),
)
def test_churn_and_recency_never_improve_as_time_passes(days, more, frequency):
    def churn(d):
        return rules.churn_probability(days_since_last_purchase=d, purchase_frequency=frequency)

    assert churn(days + more) >= churn(days)
    assert rfm.recency_score(days + more) <= rfm.recency_score(days)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ticket.purchased", "ticket.refunded", "page.viewed"]),
            st.integers(-400 * 86_400, 30 * 86_400),
            st.integers(0, 10**7),
            st.integers(1, 20),
        ),
        max_size=40,
    )
)
def test_aggregated_totals_match_a_direct_sum(rows):
    events = [
        EventRecord(kind, AS_OF + timedelta(seconds=offset), Decimal(cents) / 100, qty, "x")
        for kind, offset, cents, qty in rows
    ]
    result = facts_from_events(CUSTOMER, events, as_of=AS_OF, tz=UTC)
    kept = [row for row in rows if row[1] <= 0]
    if not kept:
        assert result is None
        return
    purchases = [row for row in kept if row[0] == "ticket.purchased"]
    refunds = [row for row in kept if row[0] == "ticket.refunded"]
    assert result is not None
    assert result.purchase_count == len(purchases)
    assert result.purchase_cents == sum(row[2] for row in purchases)
    assert result.refund_cents == sum(row[2] for row in refunds)
    assert result.purchase_quantity == sum(row[3] for row in purchases)
    assert result.first_seen == AS_OF + timedelta(seconds=min(row[1] for row in kept))
    assert result.morning_purchases + result.afternoon_purchases + result.evening_purchases == len(
        purchases
    )
    assert result.purchase_days <= len(purchases)
    assert result.last_seen <= AS_OF


def test_as_of_is_a_fixed_utc_instant():
    assert datetime(2026, 6, 1, 12, tzinfo=UTC) == AS_OF
