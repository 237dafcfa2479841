"""The pure generator: determinism, exact benchmark sizes, and plausible events."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from customer_intel import demo as gen

END = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _events(plan: gen.DemoPlan) -> list[gen.EventChunk]:
    chunks = []
    for venue in plan.venues:
        calendar = gen.build_calendar(timezone=venue.timezone, start=plan.start, end=plan.end)
        chunks.extend(gen.iter_venue_chunks(plan=plan, venue=venue, calendar=calendar))
    return chunks


def _columns(chunks: list[gen.EventChunk]) -> dict[str, np.ndarray]:
    names = ("customer", "type", "occurred_at", "amount_cents", "quantity", "category")
    return {name: np.concatenate([getattr(c, name) for c in chunks]) for name in names}


def test_same_seed_same_events_and_other_seed_other_events():
    first = _columns(_events(gen.plan_dataset(seed=11, end=END, venues=1)))
    again = _columns(_events(gen.plan_dataset(seed=11, end=END, venues=1)))
    other = _columns(_events(gen.plan_dataset(seed=12, end=END, venues=1)))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert first["occurred_at"].shape != other["occurred_at"].shape or not np.array_equal(
        first["occurred_at"], other["occurred_at"]
    )


def test_demo_events_are_plausible():
    plan = gen.plan_dataset(seed=3, end=END)
    columns = _columns(_events(plan))
    kinds = np.bincount(columns["type"], minlength=len(gen.EVENT_TYPES))
    assert all(kinds > 0), dict(zip(gen.EVENT_TYPES, kinds, strict=True))
    assert columns["occurred_at"].max() <= END.timestamp()
    assert columns["occurred_at"].min() >= (plan.start.timestamp() - 30 * gen.DAY)

    purchase = columns["type"] == gen.PURCHASED
    refund = columns["type"] == gen.REFUNDED
    assert 0.01 < refund.sum() / purchase.sum() < 0.06
    assert np.all(columns["amount_cents"][purchase] > 0)
    assert set(np.unique(columns["quantity"][purchase])) <= set(range(1, 7))
    assert set(np.unique(columns["category"][purchase])) == set(range(len(gen.CATEGORIES)))
    # A customer never gets back more than they paid.
    customers = columns["customer"]
    size = customers.max() + 1
    paid = np.bincount(customers[purchase], columns["amount_cents"][purchase], size)
    refunded = np.bincount(customers[refund], columns["amount_cents"][refund], size)
    assert np.all(refunded <= paid)
    # Every planned customer has at least one event, and no other customer appears.
    planned = sum(venue.customers for venue in plan.venues)
    assert np.array_equal(np.unique(customers), np.arange(1, planned + 1))


def test_purchases_favour_weekends_and_evenings():
    plan = gen.plan_dataset(seed=5, end=END, venues=1)
    columns = _columns(_events(plan))
    when = columns["occurred_at"][columns["type"] == gen.PURCHASED]
    local = [datetime.fromtimestamp(t, tz=UTC).astimezone(gen.ZoneInfo("America/New_York"))
             for t in when.tolist()]  # fmt: skip
    saturdays = sum(1 for t in local if t.weekday() == 5)
    tuesdays = sum(1 for t in local if t.weekday() == 1)
    assert saturdays > 1.5 * tuesdays
    evenings = sum(1 for t in local if t.hour >= 17)
    mornings = sum(1 for t in local if t.hour < 12)
    assert evenings > 1.5 * mornings


def test_bench_plan_has_exactly_the_asked_sizes():
    plan = gen.plan_dataset(seed=1, end=END, customers=2_000, events=18_001, venues=3)
    assert [v.name for v in plan.venues] == ["Bench Arena", "Bench Annex 1", "Bench Annex 2"]
    assert sum(v.customers for v in plan.venues) == 2_000
    assert sum(v.events for v in plan.venues) == 18_001
    columns = _columns(_events(plan))
    assert columns["customer"].shape[0] == 18_001
    assert np.unique(columns["customer"]).shape[0] == 2_000


def test_bench_sizes_below_the_natural_count_thin_engagement_before_purchases():
    plan = gen.plan_dataset(seed=2, end=END, customers=1_000, events=1_500)
    columns = _columns(_events(plan))
    assert columns["customer"].shape[0] == 1_500
    assert np.unique(columns["customer"]).shape[0] == 1_000
    # Purchases had to go too, so every event left beyond each customer's first is a purchase.
    order = np.lexsort((columns["occurred_at"], columns["customer"]))
    customers, kinds = columns["customer"][order], columns["type"][order]
    later = np.ones(kinds.shape, dtype=bool)
    later[0] = False
    later[1:] = customers[1:] == customers[:-1]
    assert later.sum() == 500
    assert np.all(kinds[later] == gen.PURCHASED)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"customers": 10, "events": 9}, "events"),
        ({"customers": 0}, "customers"),
        ({"venues": 6}, "venues"),
        ({"years": 0}, "years"),
        ({"seed": -1}, "seed"),
    ],
)
def test_impossible_plans_name_the_option(kwargs, option):
    with pytest.raises(gen.PlanError, match=f"^{option}:"):
        gen.plan_dataset(end=END, **{"seed": 1, **kwargs})
