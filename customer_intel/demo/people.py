"""Who the chunk's customers are, and what they buy: the BG/NBD purchase process."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customer_intel.demo.behaviour import (
    ARCHETYPES,
    BROWSER,
    CATEGORIES,
    CATEGORY_POPULARITY,
    CLICK_CHANNEL_WEIGHTS,
    CLICK_RATE,
    PURCHASE_CAP,
    PURCHASE_HOUR_WEIGHTS,
    QUANTITY_WEIGHTS,
    TICKET_PRICE_CENTS,
    UNPROMPTED_CHANNEL_WEIGHTS,
    YEAR_DAYS,
    pick_campaigns,
)
from customer_intel.demo.calendar import VenueCalendar, times_on_days


@dataclass(frozen=True, slots=True)
class Customers:
    """Per customer of the chunk (indexed from 0): who they are."""

    archetype: np.ndarray
    rate: np.ndarray  # purchases per year
    dropout: np.ndarray  # probability of leaving after each purchase
    spend_mean: np.ndarray  # multiplier of the ticket price
    favourite: np.ndarray  # index into CATEGORIES
    born: np.ndarray  # operational day of the first visit
    buyer: np.ndarray  # bool: not a browser


def draw_customers(rng: np.random.Generator, n: int, calendar: VenueCalendar) -> Customers:
    archetype = rng.choice(len(ARCHETYPES), size=n, p=[a.share for a in ARCHETYPES])
    rate_shape = np.array([a.rate_shape for a in ARCHETYPES])[archetype]
    rate_mean = np.array([a.rate_mean for a in ARCHETYPES])[archetype]
    rate = rng.gamma(rate_shape, rate_mean / rate_shape)
    dropout = rng.beta(
        np.array([a.dropout_a for a in ARCHETYPES])[archetype],
        np.array([a.dropout_b for a in ARCHETYPES])[archetype],
    )
    spend_mean = (
        rng.gamma(3.0, 1 / 3.0, size=n) * np.array([a.spend_factor for a in ARCHETYPES])[archetype]
    )
    favourite = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_POPULARITY)
    born = rng.uniform(0.0, calendar.operational_days, size=n)
    return Customers(archetype, rate, dropout, spend_mean, favourite, born, archetype != BROWSER)


@dataclass(frozen=True, slots=True)
class Purchases:
    """Per purchase of the chunk: who, when, what, through which channel."""

    owner: np.ndarray
    at: np.ndarray  # Unix seconds
    day: np.ndarray  # local day index in the calendar
    category: np.ndarray
    quantity: np.ndarray
    amount: np.ndarray  # cents
    clicked: np.ndarray  # bool: came through a campaign click
    click_channel: np.ndarray
    click_campaign: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray

    def __len__(self) -> int:
        return int(self.owner.shape[0])


def draw_purchases(
    rng: np.random.Generator, people: Customers, calendar: VenueCalendar, price_factor: float
) -> Purchases:
    """BG/NBD: the first purchase is at the customer's arrival; after each one the customer
    leaves with probability p; gaps are exponential at the personal rate."""
    horizon = calendar.operational_days
    end_epoch = calendar.end_epoch
    buyer = people.buyer
    purchases_before_dropout = np.where(
        buyer, np.minimum(rng.geometric(np.clip(people.dropout, 1e-6, 1.0)), PURCHASE_CAP), 0
    )
    owner = np.repeat(np.arange(people.born.shape[0]), purchases_before_dropout)
    position = positions_in_groups(purchases_before_dropout)
    gaps = rng.exponential(1.0, size=owner.shape) * YEAR_DAYS / np.maximum(people.rate[owner], 1e-3)
    gaps[position == 0] = 0.0
    running = np.cumsum(gaps)
    group_base = running[position == 0]
    operational = (
        people.born[owner] + running - np.repeat(group_base, purchases_before_dropout[buyer])
    )
    is_first = position == 0
    keep = operational < horizon
    owner, operational, is_first = owner[keep], operational[keep], is_first[keep]
    day = calendar.day_of(operational)
    hour = rng.choice(24, size=owner.shape, p=PURCHASE_HOUR_WEIGHTS)
    at = times_on_days(rng, calendar, day, hour)
    late = at > end_epoch
    # A customer's first purchase on the last day is pulled back before the end; later ones
    # simply have not happened yet.
    at = np.where(late & is_first, end_epoch - rng.integers(60, 3600, size=at.shape), at)
    keep = ~late | is_first
    owner, at, day = owner[keep], at[keep], day[keep]
    count = owner.shape[0]

    category = np.where(
        rng.random(count) < 0.55,
        people.favourite[owner],
        rng.choice(len(CATEGORIES), size=count, p=CATEGORY_POPULARITY),
    ).astype(np.int8)
    quantity = rng.choice(6, size=count, p=QUANTITY_WEIGHTS) + 1
    ticket_cents = (
        TICKET_PRICE_CENTS[category]
        * price_factor
        * people.spend_mean[owner]
        * rng.gamma(6.0, 1 / 6.0, count)
    )
    amount = np.maximum(np.rint(ticket_cents * quantity), 300).astype(np.int64)

    clicked = rng.random(count) < CLICK_RATE
    click_channel = rng.choice(3, size=count, p=CLICK_CHANNEL_WEIGHTS)
    click_campaign = pick_campaigns(rng, click_channel)
    channel = np.where(
        clicked, click_channel, rng.choice(4, size=count, p=UNPROMPTED_CHANNEL_WEIGHTS)
    ).astype(np.int8)
    campaign = np.where(clicked, click_campaign, -1).astype(np.int8)
    return Purchases(
        owner,
        at,
        day,
        category,
        quantity,
        amount,
        clicked,
        click_channel,
        click_campaign,
        channel,
        campaign,
    )


def positions_in_groups(counts: np.ndarray) -> np.ndarray:
    """For np.repeat(groups, counts): each element's position within its group."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)
