"""The domain's names and boundaries, defined once.

Event types, customer segments, RFM segment names, purchase-time buckets and their hour
boundaries, the local purchase day, the lifetime-value horizon and the longest customer id.
Plain enums and constants: the models derive their `choices` from these, the database
expressions (`customer_intel.expressions`) and the pure rules use the same values.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class EventType(StrEnum):
    """What happened: the `type` of an event."""

    TICKET_PURCHASED = "ticket.purchased"
    TICKET_REFUNDED = "ticket.refunded"
    TICKET_SCANNED = "ticket.scanned"
    PAGE_VIEWED = "page.viewed"
    CART_ADDED = "cart.added"
    CAMPAIGN_CLICKED = "campaign.clicked"
    EMAIL_OPENED = "email.opened"


# The event types that carry an amount of money.
PAYING_EVENT_TYPES: frozenset[str] = frozenset(
    {EventType.TICKET_PURCHASED, EventType.TICKET_REFUNDED}
)


class Segment(StrEnum):
    """The customer segment the SPEC's rules assign."""

    NEW = "new"
    OCCASIONAL = "occasional"
    REGULAR = "regular"
    VIP = "vip"
    AT_RISK = "at_risk"
    DORMANT = "dormant"
    LOST = "lost"


SEGMENTS: tuple[Segment, ...] = tuple(Segment)


class RfmSegment(StrEnum):
    """The names an RFM analysis gives, best customers first; Prospects have no purchase."""

    CHAMPIONS = "Champions"
    LOYAL_CUSTOMERS = "Loyal Customers"
    POTENTIAL_LOYALISTS = "Potential Loyalists"
    RECENT_CUSTOMERS = "Recent Customers"
    PROMISING = "Promising"
    NEW_CUSTOMERS = "New Customers"
    NEED_ATTENTION = "Need Attention"
    ABOUT_TO_SLEEP = "About To Sleep"
    AT_RISK = "At Risk"
    CANT_LOSE_THEM = "Can't Lose Them"
    HIBERNATING = "Hibernating"
    LOST = "Lost"
    PROSPECTS = "Prospects"


RFM_SEGMENTS: tuple[RfmSegment, ...] = tuple(RfmSegment)


class PurchaseTime(StrEnum):
    """The part of the day a purchase falls in, by its local hour at the venue."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


# Local hours 0-11 are morning, 12-16 afternoon, 17-23 evening.
MORNING_BEFORE_HOUR = 12
AFTERNOON_BEFORE_HOUR = 17


def purchase_time_bucket(local_hour: int) -> PurchaseTime:
    """The bucket of a purchase's local hour (0-23) in the venue's time zone."""
    if local_hour < MORNING_BEFORE_HOUR:
        return PurchaseTime.MORNING
    if local_hour < AFTERNOON_BEFORE_HOUR:
        return PurchaseTime.AFTERNOON
    return PurchaseTime.EVENING


# A purchase day is the local date of the purchase in the venue's time zone (DST included),
# stored as a number of days since this date.
EPOCH_DATE = date(1970, 1, 1)


def local_day_number(at: datetime, tz: ZoneInfo) -> int:
    """The purchase day of an aware instant: its local date in `tz`, in days since 1970-01-01."""
    return (at.astimezone(tz).date() - EPOCH_DATE).days


# Lifetime value looks this many years ahead: the SPEC's rule (predictedLifetimeValue = AOV x
# frequency x HORIZON_YEARS, the answers' `horizonYears`) and the model's discounted value.
HORIZON_YEARS = 3

# The longest raw customer id accepted (it is hashed into a pseudonym before storage).
MAX_CUSTOMER_ID_LENGTH = 256
