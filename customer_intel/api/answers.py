"""The customer endpoints' answers, each declared once (see `shapes`): what every path renders
(a stored profile, one computed on demand, the SQLite default) and what the schema documents.

Adding a profile field to the answers is one `Value` in `PROFILE` (and in `PROFILE_CSV` for the
export). The lifetime-value answer and the predictions are in `lifetime_answers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rest_framework import serializers

from customer_intel.analytics.insights import INSIGHT_TYPES
from customer_intel.analytics.journey import FirstPurchase, FirstTouch, PurchaseAttribution
from customer_intel.api.lifetime_answers import (
    AUDIT_CHURN_HELP,
    AUDIT_LIFETIME_VALUE_HELP,
    MODEL_LABEL,
    PREDICTIONS,
)
from customer_intel.api.shapes import (
    BOOLEAN,
    INSTANT,
    INTEGER,
    MONEY_TEXT,
    OPTIONAL_TEXT,
    PROBABILITY,
    PURCHASES,
    TEXT,
    UUID,
    Kind,
    Nested,
    Shape,
    Value,
    choice,
    stored,
    text_list,
)
from customer_intel.models import PurchaseTime, Segment

PERCENTAGE = Kind(lambda value: round(float(value), 2), serializers.FloatField)

RFM = Shape(
    "RfmScores",
    (
        Value("recency", "rfm_recency", INTEGER, nullable=True),
        Value("frequency", "rfm_frequency", INTEGER, nullable=True),
        Value("monetary", "rfm_monetary", MONEY_TEXT, nullable=True),
        Value("recencyScore", "recency_score", INTEGER, nullable=True),
        Value("frequencyScore", "frequency_score", INTEGER, nullable=True),
        Value("monetaryScore", "monetary_score", INTEGER, nullable=True),
        Value("segment", "rfm_segment", TEXT),
    ),
    help="The RFM figures; scores are null (segment `Prospects`) when there is no purchase.",
)

PROFILE = Shape(
    "CustomerProfile",
    (
        Value("customerId", "customer", TEXT),
        Value("venueId", "venue_id", UUID),
        Value("firstSeen", "first_seen", INSTANT),
        Value("lastSeen", "last_seen", INSTANT),
        Value("totalPurchases", "total_purchases", INTEGER),
        Value("totalSpent", "total_spent", MONEY_TEXT),
        Value("totalTickets", "total_tickets", INTEGER),
        Value("averageOrderValue", "average_order_value", MONEY_TEXT),
        Value(
            "refundsExceedPurchases",
            "refunds_exceed_purchases",
            BOOLEAN,
            help="The customer's refunds at the venue exceed their purchases (a feed may send "
            "a refund before its purchase); totalSpent is then floored at 0.",
        ),
        Value("purchaseFrequency", "purchase_frequency", PURCHASES, help="Purchases per year."),
        Value("daysSinceLastPurchase", "days_since_last_purchase", INTEGER, nullable=True),
        Value("segment", "segment", choice(Segment.choices)),
        Value(
            "predictedLifetimeValue",
            "predicted_lifetime_value",
            MONEY_TEXT,
            help=AUDIT_LIFETIME_VALUE_HELP,
        ),
        Value(
            "churnProbability",
            "churn_probability",
            PROBABILITY,
            nullable=True,
            help=AUDIT_CHURN_HELP,
        ),
        Nested(
            "attributes",
            Shape(
                "Attributes",
                (
                    Nested(
                        "preferences",
                        Shape(
                            "Preferences",
                            (Value("eventTypes", "preferred_event_types", text_list()),),
                        ),
                    ),
                    Nested(
                        "behavior",
                        Shape(
                            "Behavior",
                            (
                                Value(
                                    "purchaseTime",
                                    "purchase_time",
                                    choice(PurchaseTime.choices),
                                    nullable=True,
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
        Value("firstPurchaseAt", "first_purchase_at", INSTANT, nullable=True),
        Value("lastPurchaseAt", "last_purchase_at", INSTANT, nullable=True),
        Nested("rfm", RFM),
        Nested("predictions", PREDICTIONS),
        Value("asOf", "as_of", INSTANT),
        Value("computedAt", "computed_at", INSTANT),
    ),
    help="A customer's cached profile; `customerId` is always the pseudonym.",
)

CUSTOMER_RFM = Shape(
    "CustomerRfm",
    (
        Value("customerId", "customer", TEXT),
        *RFM.entries,
        Value("asOf", "as_of", INSTANT),
        Value("computedAt", "computed_at", INSTANT),
    ),
)

# Written when the profile is computed (analytics.insights.insight_to_json) and stored as is.
INSIGHT = Shape(
    "Insight",
    (
        Value("type", "type", choice(INSIGHT_TYPES)),
        Value("title", "title", TEXT),
        Value("description", "description", TEXT),
        Value("impact", "impact", choice(["low", "medium", "high"])),
        Value("actionable", "actionable", BOOLEAN),
        Value("suggestedActions", "suggested_actions", text_list()),
        Value("validUntil", "valid_until", INSTANT),
        Value("metadata", "metadata", Kind(None, serializers.DictField)),
    ),
)

CUSTOMER_INSIGHTS = Shape(
    "CustomerInsights",
    (
        Value("customerId", "customer", TEXT),
        Value(
            "insights",
            "insights",
            stored(lambda **options: INSIGHT.serializer(many=True, **options)),
        ),
        Value("asOf", "as_of", INSTANT),
        Value("computedAt", "computed_at", INSTANT),
    ),
)


@dataclass(frozen=True, slots=True)
class SegmentShare:
    segment: str
    count: int
    percentage: float


@dataclass(frozen=True, slots=True)
class SegmentsAnswer:
    venue_id: Any
    by: str
    segments: list[SegmentShare]
    total_customers: int
    as_of: datetime | None
    computed_at: datetime | None


SEGMENTS = Shape(
    "Segments",
    (
        Value("venueId", "venue_id", UUID),
        Value("by", "by", choice(["segment", "rfm"])),
        Nested(
            "segments",
            Shape(
                "SegmentCount",
                (
                    Value("segment", "segment", TEXT),
                    Value("count", "count", INTEGER),
                    Value(
                        "percentage",
                        "percentage",
                        PERCENTAGE,
                        help="Share of all customers, two decimals.",
                    ),
                ),
            ),
            source="segments",
            many=True,
        ),
        Value("totalCustomers", "total_customers", INTEGER),
        Value("asOf", "as_of", INSTANT, nullable=True),
        Value("computedAt", "computed_at", INSTANT, nullable=True),
    ),
    help="Counts per segment from the venue's last run; zeros and a null asOf before any run.",
)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of rows; `next` is the next page's URL, None on the last."""

    results: list[Any]
    next: str | None
    page_size: int


URL = Kind(None, serializers.URLField)
NEXT_HELP = "The next page, null on the last."

SEARCH_PAGE = Shape(
    "CustomerSearchPage",
    (
        Nested("results", PROFILE, source="results", many=True),
        Value("next", "next", URL, nullable=True, help=NEXT_HELP),
        Value("pageSize", "page_size", INTEGER),
    ),
)

JOURNEY_EVENT = Shape(
    "JourneyEvent",
    (
        Value("type", "type", TEXT),
        Value("occurredAt", "occurred_at", INSTANT),
        Value("amount", "amount", MONEY_TEXT, nullable=True),
        Value("quantity", "quantity", INTEGER),
        Value("eventCategory", "event_category", OPTIONAL_TEXT, nullable=True),
        Value("channel", "channel", OPTIONAL_TEXT, nullable=True),
        Value("campaign", "campaign", OPTIONAL_TEXT, nullable=True),
    ),
)


@dataclass(frozen=True, slots=True)
class JourneySummaryAnswer:
    first_touch: FirstTouch | None
    first_purchase: FirstPurchase | None
    touchpoints_before_first_purchase: int
    channels: list[str]
    purchase_attributions: list[PurchaseAttribution]
    purchase_attributions_truncated: bool


@dataclass(frozen=True, slots=True)
class JourneyPage:
    customer: str
    results: list[Any]
    next: str | None
    page_size: int
    summary: JourneySummaryAnswer


JOURNEY_SUMMARY = Shape(
    "JourneySummary",
    (
        Nested(
            "firstTouch",
            Shape(
                "FirstTouch",
                (
                    Value("type", "type", TEXT),
                    Value("occurredAt", "occurred_at", INSTANT),
                    Value("channel", "channel", OPTIONAL_TEXT, nullable=True),
                    Value("campaign", "campaign", OPTIONAL_TEXT, nullable=True),
                ),
            ),
            source="first_touch",
            nullable=True,
        ),
        Nested(
            "firstPurchase",
            Shape(
                "FirstPurchase",
                (
                    Value("occurredAt", "occurred_at", INSTANT),
                    Value("amount", "amount", MONEY_TEXT, nullable=True),
                ),
            ),
            source="first_purchase",
            nullable=True,
        ),
        Value("touchpointsBeforeFirstPurchase", "touchpoints_before_first_purchase", INTEGER),
        Value("channels", "channels", text_list(), help="Distinct channels in order of first use."),
        Nested(
            "purchaseAttributions",
            Shape(
                "PurchaseAttribution",
                (
                    Value("occurredAt", "occurred_at", INSTANT),
                    Value("amount", "amount", MONEY_TEXT, nullable=True),
                    Value(
                        "campaign",
                        "campaign",
                        OPTIONAL_TEXT,
                        nullable=True,
                        help="The last campaign clicked within 30 days before, or null.",
                    ),
                ),
            ),
            source="purchase_attributions",
            many=True,
        ),
        Value(
            "purchaseAttributionsTruncated",
            "purchase_attributions_truncated",
            BOOLEAN,
            help="True when only the first purchases' attributions are listed.",
        ),
    ),
    help="The whole journey, whatever page is shown.",
)

JOURNEY_PAGE = Shape(
    "JourneyPage",
    (
        Value("customerId", "customer", TEXT),
        Nested("results", JOURNEY_EVENT, source="results", many=True),
        Value("next", "next", URL, nullable=True, help=NEXT_HELP),
        Value("pageSize", "page_size", INTEGER),
        Nested("summary", JOURNEY_SUMMARY, source="summary"),
    ),
)

# The CSV export's columns, in order (headers are the keys); values written as in JSON.
PROFILE_CSV = Shape(
    "CustomerCsvRow",
    (
        Value("customerId", "customer", TEXT),
        Value("segment", "segment", TEXT),
        Value("rfmSegment", "rfm_segment", TEXT),
        Value("totalPurchases", "total_purchases", INTEGER),
        Value("totalSpent", "total_spent", MONEY_TEXT),
        Value("totalTickets", "total_tickets", INTEGER),
        Value("averageOrderValue", "average_order_value", MONEY_TEXT),
        Value("purchaseFrequency", "purchase_frequency", PURCHASES),
        Value("daysSinceLastPurchase", "days_since_last_purchase", INTEGER, nullable=True),
        Value("firstPurchaseAt", "first_purchase_at", INSTANT, nullable=True),
        Value("lastPurchaseAt", "last_purchase_at", INSTANT, nullable=True),
        Value("churnProbability", "churn_probability", PROBABILITY, nullable=True),
        Value("predictedLifetimeValue", "predicted_lifetime_value", MONEY_TEXT),
        Value("probabilityAlive", "probability_alive", PROBABILITY, nullable=True),
        Value("predictedClv365d", "predicted_clv_365d", MONEY_TEXT, nullable=True),
        Value("topEventType", "top_event_type", OPTIONAL_TEXT, nullable=True),
        Value("purchaseTime", "purchase_time", TEXT, nullable=True),
        Value("asOf", "as_of", INSTANT),
        # Appended, not renamed: the columns above keep the names clients map by. These name
        # the audit rule's figures as such (the same values as churnProbability and
        # predictedLifetimeValue) and the model behind probabilityAlive and predictedClv365d.
        Value("auditRuleChurnProbability", "churn_probability", PROBABILITY, nullable=True),
        Value("auditRuleLifetimeValue", "predicted_lifetime_value", MONEY_TEXT),
        Value("predictionModel", "prediction_model", MODEL_LABEL, nullable=True),
        Value("refundsExceedPurchases", "refunds_exceed_purchases", BOOLEAN),
    ),
)
