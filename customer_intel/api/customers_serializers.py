"""Response (and the one request) shapes of the customer and ops endpoints.

Money is served as a decimal string with two places ("1234.50"), everywhere: exact, and what
the stored insights already carry. Ratios and counts are JSON numbers; instants are ISO 8601
with "Z" for UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from customer_intel.models import MONEY, CustomerProfile, PurchaseTime, RunMode, Segment
from customer_intel.services.recompute.profiles import PREDICTION_FIELDS

# The SPEC's lifetime-value horizon (predictedLifetimeValue = AOV x frequency x 3).
CLV_HORIZON_YEARS = 3


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(read_only=True, **MONEY, **kwargs)


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(
        required=False,
        help_text="Field problems: {parameter: [messages]}.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers: `{"error": {status, code, message, details?}}`."""

    error = ErrorBodySerializer()


class PreferencesSerializer(serializers.Serializer):
    eventTypes = serializers.ListField(
        child=serializers.CharField(), source="preferred_event_types", read_only=True
    )


class BehaviorSerializer(serializers.Serializer):
    purchaseTime = serializers.ChoiceField(
        choices=PurchaseTime.choices, source="purchase_time", allow_null=True, read_only=True
    )


class AttributesSerializer(serializers.Serializer):
    preferences = PreferencesSerializer(source="*", read_only=True)
    behavior = BehaviorSerializer(source="*", read_only=True)


class RfmScoresSerializer(serializers.Serializer):
    """The RFM figures; scores are null (segment `Prospects`) when there is no purchase."""

    recency = serializers.IntegerField(source="rfm_recency", allow_null=True, read_only=True)
    frequency = serializers.IntegerField(source="rfm_frequency", allow_null=True, read_only=True)
    monetary = _money(source="rfm_monetary", allow_null=True)
    recencyScore = serializers.IntegerField(source="recency_score", allow_null=True, read_only=True)
    frequencyScore = serializers.IntegerField(
        source="frequency_score", allow_null=True, read_only=True
    )
    monetaryScore = serializers.IntegerField(
        source="monetary_score", allow_null=True, read_only=True
    )
    segment = serializers.CharField(source="rfm_segment", read_only=True)


class PredictionsSerializer(serializers.Serializer):
    """BG/NBD + Gamma-Gamma predictions, served next to the heuristic lifetime value.

    Every figure is null, with `unavailableReason` saying why, when the venue's model fit was
    refused or the customer's history is too short.
    """

    probabilityAlive = serializers.FloatField(
        source="probability_alive", allow_null=True, read_only=True
    )
    expectedPurchases90d = serializers.FloatField(
        source="expected_purchases_90d", allow_null=True, read_only=True
    )
    expectedPurchases365d = serializers.FloatField(
        source="expected_purchases_365d", allow_null=True, read_only=True
    )
    predictedClv365d = _money(source="predicted_clv_365d", allow_null=True)
    predictedClv3y = _money(source="predicted_clv_3y", allow_null=True)
    expectedDateOfNextOrder = serializers.DateTimeField(
        source="expected_next_order_at", allow_null=True, read_only=True
    )
    averageDaysBetweenOrders = serializers.FloatField(
        source="average_days_between_orders", allow_null=True, read_only=True
    )
    unavailableReason = serializers.SerializerMethodField()

    def get_unavailableReason(self, profile: Any) -> str | None:
        return profile.prediction_unavailable_reason or None


class CustomerProfileSerializer(serializers.Serializer):
    """A customer's cached profile; `customerId` is always the pseudonym."""

    customerId = serializers.CharField(source="customer", read_only=True)
    venueId = serializers.UUIDField(source="venue_id", read_only=True)
    firstSeen = serializers.DateTimeField(source="first_seen", read_only=True)
    lastSeen = serializers.DateTimeField(source="last_seen", read_only=True)
    totalPurchases = serializers.IntegerField(source="total_purchases", read_only=True)
    totalSpent = _money(source="total_spent")
    totalTickets = serializers.IntegerField(source="total_tickets", read_only=True)
    averageOrderValue = _money(source="average_order_value")
    purchaseFrequency = serializers.FloatField(
        source="purchase_frequency", read_only=True, help_text="Purchases per year."
    )
    daysSinceLastPurchase = serializers.IntegerField(
        source="days_since_last_purchase", allow_null=True, read_only=True
    )
    segment = serializers.ChoiceField(choices=Segment.choices, read_only=True)
    predictedLifetimeValue = _money(
        source="predicted_lifetime_value",
        help_text="averageOrderValue * purchaseFrequency * 3 (three-year horizon).",
    )
    churnProbability = serializers.FloatField(
        source="churn_probability", allow_null=True, read_only=True
    )
    attributes = AttributesSerializer(source="*", read_only=True)
    firstPurchaseAt = serializers.DateTimeField(
        source="first_purchase_at", allow_null=True, read_only=True
    )
    lastPurchaseAt = serializers.DateTimeField(
        source="last_purchase_at", allow_null=True, read_only=True
    )
    rfm = RfmScoresSerializer(source="*", read_only=True)
    predictions = PredictionsSerializer(source="*", read_only=True)
    asOf = serializers.DateTimeField(source="as_of", read_only=True)
    computedAt = serializers.DateTimeField(source="computed_at", read_only=True)


class InsightSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(required=False)
    impact = serializers.ChoiceField(choices=["low", "medium", "high"])
    actionable = serializers.BooleanField(required=False)
    suggestedActions = serializers.ListField(child=serializers.CharField(), required=False)
    validUntil = serializers.DateTimeField(required=False)
    metadata = serializers.DictField(required=False)


class CustomerInsightsSerializer(serializers.Serializer):
    customerId = serializers.CharField(source="customer", read_only=True)
    insights = InsightSerializer(many=True, read_only=True)
    asOf = serializers.DateTimeField(source="as_of", read_only=True)
    computedAt = serializers.DateTimeField(source="computed_at", read_only=True)


class CustomerRfmSerializer(RfmScoresSerializer):
    customerId = serializers.CharField(source="customer", read_only=True)
    asOf = serializers.DateTimeField(source="as_of", read_only=True)
    computedAt = serializers.DateTimeField(source="computed_at", read_only=True)


class CustomerClvSerializer(serializers.Serializer):
    """Lifetime value: the SPEC's three-year heuristic and the model's predictions."""

    customerId = serializers.CharField(source="customer", read_only=True)
    averageOrderValue = _money(source="average_order_value")
    purchaseFrequency = serializers.FloatField(source="purchase_frequency", read_only=True)
    horizonYears = serializers.SerializerMethodField()
    historicalValue = _money(source="total_spent", help_text="Total spent to date.")
    predictedLifetimeValue = _money(source="predicted_lifetime_value")
    predictions = PredictionsSerializer(source="*", read_only=True)
    asOf = serializers.DateTimeField(source="as_of", read_only=True)
    computedAt = serializers.DateTimeField(source="computed_at", read_only=True)

    def get_horizonYears(self, profile: Any) -> int:
        return CLV_HORIZON_YEARS


class SegmentCountSerializer(serializers.Serializer):
    segment = serializers.CharField()
    count = serializers.IntegerField()
    percentage = serializers.FloatField(help_text="Share of all customers, two decimals.")


class SegmentsSerializer(serializers.Serializer):
    """Counts per segment from the venue's last run; zeros and a null asOf before any run."""

    venueId = serializers.UUIDField()
    by = serializers.ChoiceField(choices=["segment", "rfm"])
    segments = SegmentCountSerializer(many=True)
    totalCustomers = serializers.IntegerField()
    asOf = serializers.DateTimeField(allow_null=True)
    computedAt = serializers.DateTimeField(allow_null=True)


class CustomerSearchPageSerializer(serializers.Serializer):
    results = CustomerProfileSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, null on the last.")
    pageSize = serializers.IntegerField()


class JourneyEventSerializer(serializers.Serializer):
    type = serializers.CharField()
    occurredAt = serializers.DateTimeField(source="occurred_at")
    amount = serializers.DecimalField(**MONEY, allow_null=True)
    quantity = serializers.IntegerField()
    eventCategory = serializers.CharField(source="event_category")
    channel = serializers.CharField()
    campaign = serializers.CharField()


class FirstTouchSerializer(serializers.Serializer):
    type = serializers.CharField()
    occurredAt = serializers.DateTimeField()
    channel = serializers.CharField()
    campaign = serializers.CharField()


class FirstPurchaseSerializer(serializers.Serializer):
    occurredAt = serializers.DateTimeField()
    amount = serializers.DecimalField(**MONEY, allow_null=True)


class PurchaseAttributionSerializer(serializers.Serializer):
    occurredAt = serializers.DateTimeField()
    amount = serializers.DecimalField(**MONEY, allow_null=True)
    campaign = serializers.CharField(
        allow_null=True, help_text="The last campaign clicked within 30 days before, or null."
    )


class JourneySummarySerializer(serializers.Serializer):
    """The whole journey, whatever page is shown."""

    firstTouch = FirstTouchSerializer(allow_null=True)
    firstPurchase = FirstPurchaseSerializer(allow_null=True)
    touchpointsBeforeFirstPurchase = serializers.IntegerField()
    channels = serializers.ListField(
        child=serializers.CharField(), help_text="Distinct channels in order of first use."
    )
    purchaseAttributions = PurchaseAttributionSerializer(many=True)
    purchaseAttributionsTruncated = serializers.BooleanField(
        help_text="True when only the first purchases' attributions are listed."
    )


class JourneyPageSerializer(serializers.Serializer):
    customerId = serializers.CharField()
    results = JourneyEventSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, null on the last.")
    pageSize = serializers.IntegerField()
    summary = JourneySummarySerializer()


class RecomputeRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=[RunMode.FULL, RunMode.INCREMENTAL], default=RunMode.INCREMENTAL
    )


class RecomputeQueuedSerializer(serializers.Serializer):
    runId = serializers.IntegerField()
    status = serializers.CharField()
    mode = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    """Overall status and its checks; `venues` only for authenticated staff."""

    status = serializers.ChoiceField(choices=["ok", "degraded", "down"])
    database = serializers.ChoiceField(choices=["ok", "down"])
    broker = serializers.ChoiceField(choices=["ok", "down", "in-process"])
    venues = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text="Seconds since each venue's last successful recompute (null: never), "
        "keyed by venue id. Staff only.",
    )


# The serializers above document the responses; the functions below produce the hot ones.
# DRF serializers cost about half a millisecond per profile (nested `source="*"` fields), which
# dominates a page of 50; these plain functions give byte-identical output (a test holds them
# to the serializers) at a fraction of the cost.


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with "Z", as DRF renders date-times."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def money(value: Decimal | None) -> str | None:
    """A decimal string with two places ("1234.50")."""
    return None if value is None else f"{value:.2f}"


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def rfm_json(profile: CustomerProfile) -> dict[str, Any]:
    return {
        "recency": profile.rfm_recency,
        "frequency": profile.rfm_frequency,
        "monetary": money(profile.rfm_monetary),
        "recencyScore": profile.recency_score,
        "frequencyScore": profile.frequency_score,
        "monetaryScore": profile.monetary_score,
        "segment": profile.rfm_segment,
    }


def predictions_json(profile: CustomerProfile) -> dict[str, Any]:
    return {
        "probabilityAlive": _float(profile.probability_alive),
        "expectedPurchases90d": _float(profile.expected_purchases_90d),
        "expectedPurchases365d": _float(profile.expected_purchases_365d),
        "predictedClv365d": money(profile.predicted_clv_365d),
        "predictedClv3y": money(profile.predicted_clv_3y),
        "expectedDateOfNextOrder": iso(profile.expected_next_order_at),
        "averageDaysBetweenOrders": _float(profile.average_days_between_orders),
        "unavailableReason": profile.prediction_unavailable_reason or None,
    }


# The profile fields profile_json reads (and the id), for pages read as named rows.
PROFILE_JSON_FIELDS = (
    "id",
    "customer",
    "venue_id",
    "first_seen",
    "last_seen",
    "total_purchases",
    "total_spent",
    "total_tickets",
    "average_order_value",
    "purchase_frequency",
    "days_since_last_purchase",
    "segment",
    "predicted_lifetime_value",
    "churn_probability",
    "preferred_event_types",
    "purchase_time",
    "first_purchase_at",
    "last_purchase_at",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_segment",
    *PREDICTION_FIELDS,
    "as_of",
    "computed_at",
)


def profile_json(profile: Any) -> dict[str, Any]:
    """What CustomerProfileSerializer gives, fast; `profile` is a model instance or a row
    with the PROFILE_JSON_FIELDS."""
    return {
        "customerId": profile.customer,
        "venueId": str(profile.venue_id),
        "firstSeen": iso(profile.first_seen),
        "lastSeen": iso(profile.last_seen),
        "totalPurchases": profile.total_purchases,
        "totalSpent": money(profile.total_spent),
        "totalTickets": profile.total_tickets,
        "averageOrderValue": money(profile.average_order_value),
        "purchaseFrequency": _float(profile.purchase_frequency),
        "daysSinceLastPurchase": profile.days_since_last_purchase,
        "segment": profile.segment,
        "predictedLifetimeValue": money(profile.predicted_lifetime_value),
        "churnProbability": _float(profile.churn_probability),
        "attributes": {
            "preferences": {"eventTypes": list(profile.preferred_event_types)},
            "behavior": {"purchaseTime": profile.purchase_time},
        },
        "firstPurchaseAt": iso(profile.first_purchase_at),
        "lastPurchaseAt": iso(profile.last_purchase_at),
        "rfm": rfm_json(profile),
        "predictions": predictions_json(profile),
        "asOf": iso(profile.as_of),
        "computedAt": iso(profile.computed_at),
    }


def customer_rfm_json(profile: CustomerProfile) -> dict[str, Any]:
    """What CustomerRfmSerializer gives, fast."""
    return {
        "customerId": profile.customer,
        **rfm_json(profile),
        "asOf": iso(profile.as_of),
        "computedAt": iso(profile.computed_at),
    }


def customer_clv_json(profile: CustomerProfile) -> dict[str, Any]:
    """What CustomerClvSerializer gives, fast."""
    return {
        "customerId": profile.customer,
        "averageOrderValue": money(profile.average_order_value),
        "purchaseFrequency": _float(profile.purchase_frequency),
        "horizonYears": CLV_HORIZON_YEARS,
        "historicalValue": money(profile.total_spent),
        "predictedLifetimeValue": money(profile.predicted_lifetime_value),
        "predictions": predictions_json(profile),
        "asOf": iso(profile.as_of),
        "computedAt": iso(profile.computed_at),
    }


def segments_json(body: dict[str, Any]) -> dict[str, Any]:
    """What SegmentsSerializer gives for `body`, fast."""
    return {
        "venueId": str(body["venueId"]),
        "by": body["by"],
        "segments": [
            {
                "segment": share["segment"],
                "count": int(share["count"]),
                "percentage": float(share["percentage"]),
            }
            for share in body["segments"]
        ],
        "totalCustomers": int(body["totalCustomers"]),
        "asOf": iso(body["asOf"]),
        "computedAt": iso(body["computedAt"]),
    }
