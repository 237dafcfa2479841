"""A venue built to exercise every computed field, with each expected value worked out by hand.

The venue is in America/New_York, so local hours and dates move with daylight saving time
(it began on 2026-03-08 at 07:00 UTC). Everything is measured as of AS_OF.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TIMEZONE = "America/New_York"

VIP = pseudonymize("scenario-vip")
REFUNDER = pseudonymize("scenario-refunder")
BROWSER = pseudonymize("scenario-browser")
AT_RISK = pseudonymize("scenario-at-risk")
DST = pseudonymize("scenario-dst")
LATE = pseudonymize("scenario-late")
FUTURE_ONLY = pseudonymize("scenario-future-only")

PURCHASED = "ticket.purchased"
REFUNDED = "ticket.refunded"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (customer, type, occurred_at UTC, amount, quantity, category); local NY time in the comment.
EVENTS: list[tuple[str, str, str, str | None, int, str]] = [
    # VIP: six purchases in under a year, 1200.00 in total.
    (VIP, "page.viewed", "2025-08-20T10:00", None, 1, ""),
    (VIP, PURCHASED, "2025-09-01T23:00", "200.00", 2, "concert"),  # 19:00 EDT
    (VIP, PURCHASED, "2025-11-15T00:30", "200.00", 2, "concert"),  # 11-14 19:30 EST
    (VIP, PURCHASED, "2026-01-20T22:00", "200.00", 1, "comedy"),  # 17:00 EST
    (VIP, PURCHASED, "2026-03-15T23:00", "200.00", 2, "concert"),  # 19:00 EDT
    (VIP, PURCHASED, "2026-05-01T23:30", "200.00", 1, "comedy"),  # 19:30 EDT
    (VIP, PURCHASED, "2026-06-10T15:00", "200.00", 2, "concert"),  # 11:00 EDT
    (VIP, "ticket.scanned", "2026-06-11T00:00", None, 1, "concert"),
    # Refunder: two purchases of 300.00, one refunded.
    (REFUNDER, PURCHASED, "2026-05-20T14:00", "300.00", 2, "theatre"),  # 10:00 EDT
    (REFUNDER, PURCHASED, "2026-05-25T18:00", "300.00", 2, "theatre"),  # 14:00 EDT
    (REFUNDER, REFUNDED, "2026-05-27T12:00", "300.00", 2, "theatre"),
    # Browser: engagement only, no purchase.
    (BROWSER, "page.viewed", "2026-06-01T10:00", None, 1, ""),
    (BROWSER, "email.opened", "2026-06-02T10:00", None, 1, ""),
    # At risk: one purchase 124 days before AS_OF.
    (AT_RISK, PURCHASED, "2026-02-10T20:00", "80.00", 1, "concert"),  # 15:00 EST
    # DST: the 03-08 purchase is 12:30 local only because daylight saving began that day;
    # the last two purchases share the local date 04-01 though their UTC dates differ.
    (DST, PURCHASED, "2026-01-10T16:30", "50.00", 1, ""),  # 11:30 EST
    (DST, PURCHASED, "2026-03-08T16:30", "50.00", 1, "comedy"),  # 12:30 EDT
    (DST, PURCHASED, "2026-04-01T15:30", "50.00", 1, "comedy"),  # 11:30 EDT
    (DST, PURCHASED, "2026-04-02T03:30", "50.00", 1, "music"),  # 04-01 23:30 EDT
    # Late: events after AS_OF must be ignored.
    (LATE, PURCHASED, "2026-06-01T12:00", "100.00", 1, "concert"),  # 08:00 EDT
    (LATE, "page.viewed", "2026-06-16T09:00", None, 1, ""),
    (LATE, PURCHASED, "2026-06-20T12:00", "500.00", 5, "concert"),
    # Future only: no event at or before AS_OF, so no profile.
    (FUTURE_ONLY, PURCHASED, "2026-06-20T12:00", "40.00", 1, "comedy"),
]


def validated_events(
    rows: list[tuple[str, str, str, str | None, int, str]] | None = None,
    *,
    prefix: str = "scenario",
) -> list[ValidatedEvent]:
    """The rows (default: the whole scenario) as events ready for ingestion."""
    rows = EVENTS if rows is None else rows
    return [
        ValidatedEvent(
            event_id=f"{prefix}-{index}",
            customer=customer,
            type=event_type,
            occurred_at=_at(when),
            amount=Decimal(amount) if amount is not None else None,
            quantity=quantity,
            event_category=category,
        )
        for index, (customer, event_type, when, amount, quantity, category) in enumerate(rows)
    ]


NO_RFM: dict[str, Any] = {
    "recency_score": None,
    "frequency_score": None,
    "monetary_score": None,
}

# Every computed column of each customer's profile as of AS_OF, worked out by hand.
EXPECTED: dict[str, dict[str, Any]] = {
    VIP: {
        "total_purchases": 6,
        "total_spent": Decimal("1200.00"),
        "total_tickets": 10,
        "average_order_value": Decimal("200.00"),
        "purchase_frequency": 6.0,  # first purchase under a year ago: 6 / 1
        "days_since_last_purchase": 4,  # 06-10 15:00 → 06-15 12:00
        "first_seen": _at("2025-08-20T10:00"),
        "last_seen": _at("2026-06-11T00:00"),
        "first_purchase_at": _at("2025-09-01T23:00"),
        "last_purchase_at": _at("2026-06-10T15:00"),
        "segment": "vip",
        "churn_probability": 0.05,  # 0.1 x 0.5
        "predicted_lifetime_value": Decimal("3600.00"),  # 200 x 6 x 3
        "preferred_event_types": ["concert", "comedy"],
        "top_event_type": "concert",
        "second_event_type": "comedy",
        "third_event_type": "",
        "purchase_time": "evening",  # 17:00 counts as evening; one morning
        "rfm_recency": 4,
        "rfm_frequency": 10,
        "rfm_monetary": Decimal("1200.00"),
        "recency_score": 5,
        "frequency_score": 4,
        "monetary_score": 5,
        "rfm_segment": "Champions",  # 545 → grid R5 F4
        "insight_types": ["high_value"],
    },
    REFUNDER: {
        "total_purchases": 2,
        "total_spent": Decimal("300.00"),
        "total_tickets": 2,
        "average_order_value": Decimal("150.00"),
        "purchase_frequency": 2.0,
        "days_since_last_purchase": 20,
        "first_seen": _at("2026-05-20T14:00"),
        "last_seen": _at("2026-05-27T12:00"),
        "first_purchase_at": _at("2026-05-20T14:00"),
        "last_purchase_at": _at("2026-05-25T18:00"),
        "segment": "occasional",  # frequency 2.0 is not above 2
        "churn_probability": 0.1,
        "predicted_lifetime_value": Decimal("900.00"),
        "preferred_event_types": ["theatre"],
        "top_event_type": "theatre",
        "second_event_type": "",
        "third_event_type": "",
        "purchase_time": "morning",  # one morning, one afternoon: tie to the earlier
        "rfm_recency": 20,
        "rfm_frequency": 2,
        "rfm_monetary": Decimal("300.00"),
        "recency_score": 5,
        "frequency_score": 2,
        "monetary_score": 3,
        "rfm_segment": "Potential Loyalists",  # 523 → grid R5 F2
        "insight_types": [],
    },
    BROWSER: {
        "total_purchases": 0,
        "total_spent": Decimal("0.00"),
        "total_tickets": 0,
        "average_order_value": Decimal("0.00"),
        "purchase_frequency": 0.0,
        "days_since_last_purchase": None,
        "first_seen": _at("2026-06-01T10:00"),
        "last_seen": _at("2026-06-02T10:00"),
        "first_purchase_at": None,
        "last_purchase_at": None,
        "segment": "new",
        "churn_probability": None,
        "predicted_lifetime_value": Decimal("0.00"),
        "preferred_event_types": [],
        "top_event_type": "",
        "second_event_type": "",
        "third_event_type": "",
        "purchase_time": None,
        "rfm_recency": None,
        "rfm_frequency": 0,
        "rfm_monetary": Decimal("0.00"),
        **NO_RFM,
        "rfm_segment": "Prospects",
        "insight_types": [],
    },
    AT_RISK: {
        "total_purchases": 1,
        "total_spent": Decimal("80.00"),
        "total_tickets": 1,
        "average_order_value": Decimal("80.00"),
        "purchase_frequency": 1.0,
        "days_since_last_purchase": 124,
        "first_seen": _at("2026-02-10T20:00"),
        "last_seen": _at("2026-02-10T20:00"),
        "first_purchase_at": _at("2026-02-10T20:00"),
        "last_purchase_at": _at("2026-02-10T20:00"),
        "segment": "at_risk",
        "churn_probability": 0.6,  # not above 0.6: no churn_risk insight
        "predicted_lifetime_value": Decimal("240.00"),
        "preferred_event_types": ["concert"],
        "top_event_type": "concert",
        "second_event_type": "",
        "third_event_type": "",
        "purchase_time": "afternoon",
        "rfm_recency": 124,
        "rfm_frequency": 1,
        "rfm_monetary": Decimal("80.00"),
        "recency_score": 2,
        "frequency_score": 2,
        "monetary_score": 2,
        "rfm_segment": "Hibernating",  # 222 → grid R2 F2
        "insight_types": ["low_engagement"],
    },
    DST: {
        "total_purchases": 4,
        "total_spent": Decimal("200.00"),
        "total_tickets": 4,
        "average_order_value": Decimal("50.00"),
        "purchase_frequency": 4.0,
        "days_since_last_purchase": 74,  # 04-02 03:30 → 06-15 12:00
        "first_seen": _at("2026-01-10T16:30"),
        "last_seen": _at("2026-04-02T03:30"),
        "first_purchase_at": _at("2026-01-10T16:30"),
        "last_purchase_at": _at("2026-04-02T03:30"),
        "segment": "regular",  # 4.0 is not above 4 (vip), is above 2
        "churn_probability": 0.28,  # 0.4 x 0.7
        "predicted_lifetime_value": Decimal("600.00"),
        "preferred_event_types": ["comedy", "music"],  # the uncategorised purchase is not one
        "top_event_type": "comedy",
        "second_event_type": "music",
        "third_event_type": "",
        "purchase_time": "morning",  # 2 morning, 1 afternoon (DST), 1 evening
        "rfm_recency": 74,
        "rfm_frequency": 4,
        "rfm_monetary": Decimal("200.00"),
        "recency_score": 3,
        "frequency_score": 3,
        "monetary_score": 3,
        "rfm_segment": "Need Attention",  # 333 → grid R3 F3
        "insight_types": [],
    },
    LATE: {
        "total_purchases": 1,
        "total_spent": Decimal("100.00"),
        "total_tickets": 1,
        "average_order_value": Decimal("100.00"),
        "purchase_frequency": 1.0,
        "days_since_last_purchase": 14,
        "first_seen": _at("2026-06-01T12:00"),
        "last_seen": _at("2026-06-01T12:00"),
        "first_purchase_at": _at("2026-06-01T12:00"),
        "last_purchase_at": _at("2026-06-01T12:00"),
        "segment": "occasional",
        "churn_probability": 0.1,
        "predicted_lifetime_value": Decimal("300.00"),
        "preferred_event_types": ["concert"],
        "top_event_type": "concert",
        "second_event_type": "",
        "third_event_type": "",
        "purchase_time": "morning",
        "rfm_recency": 14,
        "rfm_frequency": 1,
        "rfm_monetary": Decimal("100.00"),
        "recency_score": 5,
        "frequency_score": 2,
        "monetary_score": 2,
        "rfm_segment": "Potential Loyalists",  # 522 → grid R5 F2
        "insight_types": [],
    },
}

# Hand-computed facts of the DST customer: local buckets and local days.
DST_FACTS = {
    "purchase_count": 4,
    "purchase_cents": 20_000,
    "purchase_days": 3,
    "morning_purchases": 2,
    "afternoon_purchases": 1,
    "evening_purchases": 1,
    "category_counts": {"comedy": 2, "music": 1},
}

EXPECTED_SEGMENTS = {
    "new": 1,
    "occasional": 2,
    "regular": 1,
    "vip": 1,
    "at_risk": 1,
    "dormant": 0,
    "lost": 0,
}
EXPECTED_RFM_SEGMENTS = {
    "Champions": 1,
    "Potential Loyalists": 2,
    "Hibernating": 1,
    "Need Attention": 1,
    "Prospects": 1,
}


def profile_fields(profile: Any) -> dict[str, Any]:
    """The computed columns of a stored or unsaved profile, comparable with EXPECTED."""
    values = {name: getattr(profile, name) for name in EXPECTED[VIP] if name != "insight_types"}
    values["insight_types"] = [insight["type"] for insight in profile.insights]
    return values


# The customers by name, for a process whose HMAC key (and so whose pseudonyms) differ.
LABELS = {
    "vip": VIP,
    "refunder": REFUNDER,
    "browser": BROWSER,
    "at_risk": AT_RISK,
    "dst": DST,
    "late": LATE,
    "future_only": FUTURE_ONLY,
}
