"""What happens around purchases and between them: journeys, refunds, scans at the show,
browsers' visits and email opens, collected as event columns."""

from __future__ import annotations

import numpy as np

from customer_intel.demo.behaviour import (
    ARCHETYPES,
    ATTRIBUTION_WINDOW_DAYS,
    CART_ADDED,
    CART_RATE,
    CLICKED,
    DAY,
    EMAIL,
    FULL_REFUND_SHARE,
    OPENED,
    REFUND_RATE,
    REFUNDED,
    SCAN_RATE,
    SCANNED,
    UNPROMPTED_CHANNEL_WEIGHTS,
    VIEWED,
    YEAR_DAYS,
    pick_campaigns,
)
from customer_intel.demo.calendar import VenueCalendar, random_times_after, times_on_days
from customer_intel.demo.people import Customers, Purchases


class EventColumns:
    """Events collected group by group, as the eight columns of an EventChunk."""

    def __init__(self) -> None:
        self._groups: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        who: np.ndarray,
        kind: int,
        when: np.ndarray,
        cents: np.ndarray | int = -1,
        qty: np.ndarray | int = 1,
        cat: np.ndarray | int = -1,
        chan: np.ndarray | int = -1,
        camp: np.ndarray | int = -1,
    ) -> None:
        size = who.shape[0]
        self._groups.append(
            (
                who.astype(np.int64),
                np.full(size, kind, dtype=np.int8),
                when.astype(np.int64),
                np.broadcast_to(np.asarray(cents, dtype=np.int64), (size,)),
                np.broadcast_to(np.asarray(qty, dtype=np.int64), (size,)),
                np.broadcast_to(np.asarray(cat, dtype=np.int8), (size,)),
                np.broadcast_to(np.asarray(chan, dtype=np.int8), (size,)),
                np.broadcast_to(np.asarray(camp, dtype=np.int8), (size,)),
            )
        )

    def concatenated(self) -> list[np.ndarray]:
        return [np.concatenate(parts) for parts in zip(*self._groups, strict=True)]


def add_journeys(rng: np.random.Generator, events: EventColumns, bought: Purchases) -> None:
    """Before each purchase: sometimes its campaign click, often a cart add, page views."""
    count = len(bought)
    owner, at = bought.owner, bought.at
    lead = np.clip(rng.exponential(2 * DAY, count), 300, ATTRIBUTION_WINDOW_DAYS * DAY)
    m = bought.clicked
    events.add(
        owner[m],
        CLICKED,
        at[m] - lead[m].astype(np.int64),
        -1,
        1,
        bought.category[m],
        bought.click_channel[m],
        bought.click_campaign[m],
    )
    m = rng.random(count) < CART_RATE
    events.add(
        owner[m],
        CART_ADDED,
        at[m] - rng.integers(120, 3 * 3600, int(m.sum())),
        -1,
        bought.quantity[m],
        bought.category[m],
        bought.channel[m],
    )
    views = rng.poisson(0.8, count) + 1
    view_of = np.repeat(np.arange(count), views)
    events.add(
        owner[view_of],
        VIEWED,
        at[view_of] - rng.integers(300, 7 * DAY, view_of.shape[0]),
        -1,
        1,
        bought.category[view_of],
        bought.channel[view_of],
    )


def add_refunds(
    rng: np.random.Generator, events: EventColumns, bought: Purchases, calendar: VenueCalendar
) -> tuple[np.ndarray, np.ndarray]:
    """A few percent of purchases refunded, whole or some of their tickets; returns which
    purchases were refunded and which of those in full."""
    count = len(bought)
    refunded = rng.random(count) < REFUND_RATE
    full = rng.random(count) < FULL_REFUND_SHARE
    quantity, amount = bought.quantity, bought.amount
    refund_quantity = np.where(full, quantity, rng.integers(1, quantity + 1))
    refund_amount = np.where(full, amount, np.rint(amount * refund_quantity / quantity)).astype(
        np.int64
    )
    refund_at = bought.at + rng.integers(3600, 14 * DAY, count)
    m = refunded & (refund_at <= calendar.end_epoch)
    events.add(
        bought.owner[m],
        REFUNDED,
        refund_at[m],
        refund_amount[m],
        refund_quantity[m],
        bought.category[m],
        bought.channel[m],
    )
    return refunded, full


def add_scans(
    rng: np.random.Generator,
    events: EventColumns,
    bought: Purchases,
    calendar: VenueCalendar,
    fully_refunded: np.ndarray,
) -> None:
    """Scans at the show, a few days to two months after buying, in the evening."""
    count = len(bought)
    days = calendar.midnight_utc.shape[0]
    show_day = bought.day + rng.integers(1, 61, count)
    scan_at = np.where(
        show_day < days,
        times_on_days(rng, calendar, np.minimum(show_day, days - 1), rng.integers(18, 21, count)),
        calendar.end_epoch + 1,
    )
    m = ~fully_refunded & (rng.random(count) < SCAN_RATE) & (scan_at <= calendar.end_epoch)
    events.add(bought.owner[m], SCANNED, scan_at[m], -1, bought.quantity[m], bought.category[m])


def add_browsing(
    rng: np.random.Generator, events: EventColumns, people: Customers, calendar: VenueCalendar
) -> None:
    """Browsers look around for a while after arriving and never buy."""
    browsers = np.flatnonzero(~people.buyer)
    visits = rng.poisson(2.0, browsers.shape[0]) + 1
    visitor = np.repeat(browsers, visits)
    visit_day = calendar.day_of(
        np.minimum(
            people.born[visitor] + rng.uniform(0, 60, visitor.shape[0]),
            calendar.operational_days - 1e-9,
        )
    )
    visit_at = np.minimum(
        times_on_days(rng, calendar, visit_day, rng.integers(8, 24, visitor.shape[0])),
        calendar.end_epoch - rng.integers(0, 3600, visitor.shape[0]),
    )
    events.add(
        visitor,
        VIEWED,
        visit_at,
        -1,
        1,
        people.favourite[visitor],
        rng.choice(4, size=visitor.shape[0], p=UNPROMPTED_CHANNEL_WEIGHTS),
    )


def add_email_opens(
    rng: np.random.Generator, events: EventColumns, people: Customers, calendar: VenueCalendar
) -> None:
    """Email opens while subscribed (from arrival on)."""
    opens_rate = np.array([a.opens_per_year for a in ARCHETYPES])[people.archetype]
    opens = rng.poisson(opens_rate * (calendar.operational_days - people.born) / YEAR_DAYS)
    opener = np.repeat(np.arange(people.born.shape[0]), opens)
    events.add(
        opener,
        OPENED,
        random_times_after(rng, calendar, people.born[opener]),
        -1,
        1,
        -1,
        EMAIL,
        pick_campaigns(rng, np.zeros(opener.shape[0], dtype=np.int64)),
    )
