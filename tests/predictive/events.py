"""Simulated purchase histories written as real `CustomerEvent` rows.

Customers follow BG/NBD (purchase days) and Gamma-Gamma (order values) with known parameters;
every purchase lands on its own UTC day at noon so "purchase days" equal purchases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from customer_intel.analytics.predictive import simulate
from customer_intel.models import CustomerEvent, Venue
from customer_intel.privacy import pseudonymize

PURCHASED = "ticket.purchased"
REFUNDED = "ticket.refunded"


@dataclass
class History:
    """What was written: per customer, purchase instants and amounts (calibration + holdout)."""

    customers: list[str]
    purchases: list[list[datetime]]
    amounts: list[list[Decimal]]
    refunds: list[list[tuple[datetime, Decimal]]]


def write_history(
    *,
    venue: Venue,
    size: int,
    as_of: datetime,
    seed: int,
    max_age_days: int = 728,
    holdout_days: int = 0,
    refund_share: float = 0.05,
    bgnbd_params: dict[str, float] | None = None,
) -> History:
    """Write `size` customers whose first purchase falls in the `max_age_days` before `as_of`,
    plus their purchases in the `holdout_days` after it; returns what was written."""
    params = bgnbd_params or {"r": 0.6, "alpha": 9.0, "a": 0.7, "b": 2.5}
    rng = np.random.default_rng(seed)
    age_days = rng.integers(1, max_age_days, size)
    customers_sim = simulate.simulate_bgnbd(
        size=size, observation=age_days / 7.0, seed=seed + 1, **params
    )
    future = (
        simulate.simulate_future_purchases(customers_sim, horizon=holdout_days / 7.0, seed=seed + 2)
        if holdout_days
        else np.zeros(size)
    )
    spend_rate = rng.gamma(4.0, 1 / 15.0, size)
    day = timedelta(days=1)
    start_of_as_of_day = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    history = History([], [], [], [])
    events: list[CustomerEvent] = []
    for i in range(size):
        customer = pseudonymize(f"simulated-{seed}-{i}")
        first_day = start_of_as_of_day - int(age_days[i]) * day
        repeat = int(customers_sim.x[i])
        last_offset = int(np.rint(customers_sim.t_x[i] * 7))
        # Distinct days: the repeat purchases on distinct days in (first, first + last_offset].
        # Every purchase before the as-of day, so none is later than as-of.
        available = min(last_offset, int(age_days[i]) - 1)
        repeat = min(repeat, available)
        offsets = [0]
        if repeat:
            middle = rng.choice(np.arange(1, available), size=repeat - 1, replace=False).tolist()
            offsets += [*sorted(middle), available]
        days = [first_day + int(offset) * day for offset in offsets]
        remaining_holdout = int(future[i])
        if remaining_holdout:
            holdout_offsets = rng.choice(
                np.arange(1, holdout_days + 1),
                size=min(remaining_holdout, holdout_days),
                replace=False,
            )
            days += [start_of_as_of_day + int(offset) * day for offset in sorted(holdout_offsets)]
        instants = [moment.replace(hour=12) for moment in days]
        amounts = [Decimal(f"{max(rng.gamma(6.0, 1 / spend_rate[i]), 1.0):.2f}") for _ in instants]
        refunds = []
        if rng.random() < refund_share and instants[0] + timedelta(hours=2) <= as_of:
            refunds.append((instants[0] + timedelta(hours=2), amounts[0]))
        history.customers.append(customer)
        history.purchases.append(instants)
        history.amounts.append(amounts)
        history.refunds.append(refunds)
        for n, (moment, amount) in enumerate(zip(instants, amounts, strict=True)):
            events.append(_event(venue, f"s{seed}-{i}-p{n}", customer, PURCHASED, moment, amount))
        for n, (moment, amount) in enumerate(refunds):
            events.append(_event(venue, f"s{seed}-{i}-r{n}", customer, REFUNDED, moment, amount))
    CustomerEvent.objects.bulk_create(events, batch_size=5000)
    return history


def _event(
    venue: Venue, event_id: str, customer: str, kind: str, moment: datetime, amount: Decimal
) -> CustomerEvent:
    return CustomerEvent(
        venue=venue,
        event_id=event_id,
        customer=customer,
        type=kind,
        occurred_at=moment,
        amount=amount,
        quantity=1,
        event_category="concert",
    )
