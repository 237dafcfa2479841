"""The behaviour model's numbers: what customers buy, how often, when, through which channel.

Each customer belongs to a behaviour class (heavy buyer, regular, occasional, browser). Buyers
follow a BG/NBD process: a personal purchase rate λ ~ Gamma and, after each purchase, a personal
dropout probability p ~ Beta, so repeat purchases, lapses and churn have the structure a
probabilistic model fitted later expects. Order values scatter (Gamma) around a personal mean
that is itself Gamma-distributed across customers (Gamma-Gamma). Browsers only look and open
emails, and never buy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customer_intel.analytics.vocabulary import EventType

# Event types by index, in the vocabulary's order (the indices below name them).
EVENT_TYPES: tuple[str, ...] = tuple(event_type.value for event_type in EventType)
PURCHASED, REFUNDED, SCANNED, VIEWED, CART_ADDED, CLICKED, OPENED = range(len(EVENT_TYPES))

CATEGORIES = ("concert", "comedy", "theatre", "sports", "family", "festival")
CATEGORY_POPULARITY = np.array([0.32, 0.14, 0.16, 0.18, 0.12, 0.08])
# Mean price of one ticket in the venue's currency units before its price factor, in cents.
TICKET_PRICE_CENTS = np.array([6500.0, 3500.0, 7000.0, 8500.0, 3000.0, 11000.0])
QUANTITY_WEIGHTS = np.array([0.34, 0.36, 0.11, 0.11, 0.05, 0.03])  # 1..6 tickets per order

CHANNELS = ("email", "social", "search", "direct")
EMAIL, SOCIAL, SEARCH, DIRECT = range(len(CHANNELS))
CAMPAIGNS = (
    "weekly-newsletter",
    "presale-alert",
    "members-early-access",
    "social-lineup-announce",
    "social-retargeting",
    "search-brand",
    "search-tickets-near-me",
)
# Campaigns by the channel that carries them: (first index in CAMPAIGNS, how many).
_CAMPAIGN_SPAN = np.array([[0, 3], [3, 2], [5, 2]])
CLICK_CHANNEL_WEIGHTS = np.array([0.45, 0.35, 0.20])  # email, social, search
UNPROMPTED_CHANNEL_WEIGHTS = np.array([0.10, 0.15, 0.20, 0.55])  # email, social, search, direct

# More purchases at the end of the week and in holiday months (Monday first, January first).
WEEKDAY_WEIGHT = np.array([0.70, 0.70, 0.80, 0.95, 1.35, 1.55, 1.00])
MONTH_WEIGHT = np.array([0.85, 0.85, 0.95, 1.00, 1.00, 1.10, 1.20, 1.15, 0.95, 1.00, 1.15, 1.45])
# Local hour at which purchases happen (index = hour): mostly evenings, some lunchtimes.
_HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3.5, 4,
                 5, 5, 4, 4, 4.5, 5.5, 7, 8, 8.5, 7.5, 5, 2.5)  # fmt: skip
PURCHASE_HOUR_WEIGHTS = np.array(_HOUR_WEIGHTS) / sum(_HOUR_WEIGHTS)

PURCHASE_CAP = 120  # no customer buys more often than this over the history
REFUND_RATE = 0.03
FULL_REFUND_SHARE = 0.7
SCAN_RATE = 0.8
CLICK_RATE = 0.35
CART_RATE = 0.65
ATTRIBUTION_WINDOW_DAYS = 29  # a click this close before a purchase is its campaign
DAY = 86_400
YEAR_DAYS = 365.25

CHUNK_CUSTOMERS = 50_000


@dataclass(frozen=True, slots=True)
class Archetype:
    """A behaviour class: purchase rate λ ~ Gamma(shape, mean/shape) per year, dropout
    p ~ Beta(a, b) after each purchase, a spend multiplier, and email opens per year."""

    name: str
    share: float
    rate_shape: float
    rate_mean: float
    dropout_a: float
    dropout_b: float
    spend_factor: float
    opens_per_year: float


ARCHETYPES = (
    Archetype("heavy", 0.04, 6.0, 10.0, 1.0, 45.0, 1.5, 3.0),
    Archetype("regular", 0.20, 4.0, 4.0, 2.0, 18.0, 1.0, 1.5),
    Archetype("occasional", 0.52, 2.0, 1.1, 2.0, 3.0, 0.9, 0.6),
    Archetype("browser", 0.24, 1.0, 0.0, 1.0, 1.0, 1.0, 0.5),
)
BROWSER = len(ARCHETYPES) - 1


def pick_campaigns(rng: np.random.Generator, channels: np.ndarray) -> np.ndarray:
    """A campaign for each click, among those the click's channel carries."""
    spans = _CAMPAIGN_SPAN[channels]
    return (spans[:, 0] + (rng.random(channels.shape) * spans[:, 1]).astype(np.int64)).astype(
        np.int8
    )
