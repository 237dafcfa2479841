"""The summary of a customer's journey: first touch, first purchase, channels, attribution.

Journeys can be long, so the summary is one pass over the events in time order, keeping only
the latest campaign click and the purchases that share the current instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from customer_intel.analytics.vocabulary import EventType

# A purchase is credited to the last campaign click at most this long before it (inclusive).
ATTRIBUTION_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class JourneyEvent:
    """One event of a customer's journey."""

    type: str
    occurred_at: datetime
    amount: Decimal | None = None
    event_category: str = ""
    channel: str = ""
    campaign: str = ""


@dataclass(frozen=True, slots=True)
class FirstTouch:
    """The customer's first event of any type."""

    type: str
    occurred_at: datetime
    channel: str
    campaign: str


@dataclass(frozen=True, slots=True)
class FirstPurchase:
    occurred_at: datetime
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class PurchaseAttribution:
    """A purchase and the campaign credited with it (None when no click is in the window)."""

    occurred_at: datetime
    amount: Decimal | None
    campaign: str | None


@dataclass(frozen=True, slots=True)
class JourneySummary:
    first_touch: FirstTouch | None
    first_purchase: FirstPurchase | None
    # Events strictly earlier than the first purchase; every event when there is none.
    touchpoints_before_first_purchase: int
    # Distinct non-empty channels in order of first use.
    channels: list[str]
    purchase_attributions: list[PurchaseAttribution]


def summarize_journey(events: Iterable[JourneyEvent]) -> JourneySummary:
    """Summarize a journey given in time order (ties in any order) in a single pass.

    Each purchase is attributed to the campaign of the last `campaign.clicked` event at or
    before it and at most 30 days older; a click at the same instant as the purchase counts
    whichever side of it the event comes. Clicks without a campaign carry nothing to credit
    and are skipped. Raises ValueError if the events are not in time order.
    """
    first_touch: FirstTouch | None = None
    first_purchase: FirstPurchase | None = None
    touchpoints = 0
    channels: dict[str, None] = {}  # an insertion-ordered set
    attributions: list[PurchaseAttribution] = []

    last_click_at: datetime | None = None
    last_click_campaign = ""
    # Purchases at `instant` wait until every event of that instant has been seen, so a click
    # listed just after a purchase at the same time still counts as "at or before" it.
    pending: list[JourneyEvent] = []
    instant: datetime | None = None
    seen = 0
    seen_before_instant = 0

    def settle() -> None:
        for purchase in pending:
            campaign = None
            if (
                last_click_at is not None
                and purchase.occurred_at - last_click_at <= ATTRIBUTION_WINDOW
            ):
                campaign = last_click_campaign
            attributions.append(
                PurchaseAttribution(purchase.occurred_at, purchase.amount, campaign)
            )
        pending.clear()

    for event in events:
        at = event.occurred_at
        if instant is None or at != instant:
            if instant is not None and at < instant:
                raise ValueError("journey events must be in time order")
            settle()
            instant = at
            seen_before_instant = seen
        seen += 1

        if first_touch is None:
            first_touch = FirstTouch(event.type, at, event.channel, event.campaign)
        if event.channel:
            channels.setdefault(event.channel, None)
        if event.type == EventType.CAMPAIGN_CLICKED and event.campaign:
            last_click_at = at
            last_click_campaign = event.campaign
        elif event.type == EventType.TICKET_PURCHASED:
            if first_purchase is None:
                first_purchase = FirstPurchase(at, event.amount)
                touchpoints = seen_before_instant
            pending.append(event)
    settle()

    return JourneySummary(
        first_touch=first_touch,
        first_purchase=first_purchase,
        touchpoints_before_first_purchase=touchpoints if first_purchase is not None else seen,
        channels=list(channels),
        purchase_attributions=attributions,
    )
