"""Benchmark sizes: a chunk brought to an exact number of events."""

from __future__ import annotations

import numpy as np

from customer_intel.demo.behaviour import (
    DIRECT,
    EMAIL,
    OPENED,
    PURCHASED,
    REFUNDED,
    SCANNED,
    VIEWED,
    pick_campaigns,
)
from customer_intel.demo.calendar import VenueCalendar, random_times_after
from customer_intel.demo.plan import PlanError


def fit_to_target(
    rng: np.random.Generator,
    chunk: list[np.ndarray],
    customers: int,
    target: int,
    born: np.ndarray,
    favourite: np.ndarray,
    calendar: VenueCalendar,
) -> list[np.ndarray]:
    """Exactly `target` events: top up with page views and email opens weighted towards buyers,
    or drop engagement events first, then scans, refunds and purchases, never a customer's
    first event (so every customer keeps at least one)."""
    if target < customers:
        raise PlanError("events: every customer has at least one event, so events >= customers.")
    who, kind = chunk[0], chunk[1]
    total = who.shape[0]
    if total > target:
        first_event = np.lexsort((chunk[2], who))
        group_start = np.ones(total, dtype=bool)
        group_start[1:] = who[first_event][1:] != who[first_event][:-1]
        priority = np.select(
            [kind == PURCHASED, kind == REFUNDED, kind == SCANNED], [0, 1, 2], default=3
        )
        priority[first_event[group_start]] = -1
        order = np.lexsort((rng.random(total), -priority))
        keep = np.ones(total, dtype=bool)
        keep[order[: total - target]] = False
        return [column[keep] for column in chunk]
    missing = target - total
    if missing == 0:
        return chunk
    purchases = np.bincount(who[kind == PURCHASED], minlength=customers)
    weight = (1.0 + purchases) / (1.0 + purchases).sum()
    extra_who = rng.choice(customers, size=missing, p=weight)
    is_view = rng.random(missing) < 0.75
    extra = [
        extra_who.astype(np.int64),
        np.where(is_view, VIEWED, OPENED).astype(np.int8),
        random_times_after(rng, calendar, born[extra_who]),
        np.full(missing, -1, dtype=np.int64),
        np.ones(missing, dtype=np.int64),
        np.where(is_view, favourite[extra_who], -1).astype(np.int8),
        np.where(is_view, DIRECT, EMAIL).astype(np.int8),
        np.where(is_view, -1, pick_campaigns(rng, np.zeros(missing, dtype=np.int64))).astype(
            np.int8
        ),
    ]
    return [np.concatenate([column, more]) for column, more in zip(chunk, extra, strict=True)]
