"""The data of record (venues, the event log, access) and the caches the recompute writes.

Customers are identified only by their pseudonym (customer_intel.privacy): a raw customer id
never reaches a column of any table here.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from customer_intel.analytics import thresholds as defaults
from customer_intel.analytics import vocabulary
from customer_intel.analytics.predictive.models import MODEL_CHOICES as PURCHASE_MODEL_CHOICES
from customer_intel.validators import validate_currency_code, validate_time_zone

PSEUDONYM_LENGTH = 64
MONEY = {"max_digits": 14, "decimal_places": 2}


def _choices(name: str, vocabulary: type[StrEnum]) -> Any:
    """Django choices with the vocabulary's values, labelled from the member names."""
    label = {"VIP": "VIP"}  # what title case gets wrong
    members = [(m.name, label.get(m.name, m.name.replace("_", " ").title())) for m in vocabulary]
    return models.TextChoices(name, [(key, (vocabulary[key].value, text)) for key, text in members])


EventType = _choices("EventType", vocabulary.EventType)
Segment = _choices("Segment", vocabulary.Segment)
PurchaseTime = _choices("PurchaseTime", vocabulary.PurchaseTime)


class Venue(models.Model):
    """A venue and the thresholds its segmentation uses (defaults are the audit's numbers)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # The time zone the venue's CustomerFacts were aggregated in (local hours and days). When
    # it differs from `timezone`, the next run rebuilds the facts from the event log first.
    facts_timezone = models.CharField(max_length=64, blank=True, default="", editable=False)
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency_code])
    created_at = models.DateTimeField(auto_now_add=True)

    lost_after_days = models.PositiveIntegerField(default=defaults.LOST_AFTER_DAYS)
    dormant_after_days = models.PositiveIntegerField(default=defaults.DORMANT_AFTER_DAYS)
    at_risk_after_days = models.PositiveIntegerField(default=defaults.AT_RISK_AFTER_DAYS)
    vip_min_spent = models.DecimalField(default=defaults.VIP_MIN_SPENT, **MONEY)
    vip_min_frequency = models.FloatField(default=defaults.VIP_MIN_FREQUENCY)
    regular_min_frequency = models.FloatField(default=defaults.REGULAR_MIN_FREQUENCY)

    # Probabilistic model settings (purchase model + Gamma-Gamma).
    prediction_model = models.CharField(
        max_length=16,
        blank=True,
        default="",
        choices=PURCHASE_MODEL_CHOICES,
        help_text="Force this purchase model; empty: each fit chooses the model with the "
        "lowest holdout error on the venue's own history.",
    )
    annual_discount_rate = models.FloatField(
        default=defaults.ANNUAL_DISCOUNT_RATE,
        validators=[MinValueValidator(0.0)],
        help_text="Yearly rate used to discount predicted lifetime value.",
    )
    slipping_probability_alive = models.FloatField(
        default=defaults.SLIPPING_PROBABILITY_ALIVE,
        help_text="A big spender whose P(alive) falls below this is flagged as slipping.",
    )
    # Personal data is kept no longer than the venue needs it (customer_intel.services.retention).
    event_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Events older than this many days are deleted nightly; empty keeps every event.",
    )
    history_retention_days = models.PositiveIntegerField(
        default=730,
        validators=[MinValueValidator(1)],
        help_text="Days of segment history kept; older points are pruned by the nightly run.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new venue has no facts yet: those ingestion builds are in its time zone.
        if self._state.adding and not self.facts_timezone:
            self.facts_timezone = self.timezone
        super().save(*args, **kwargs)

    def segment_thresholds(self) -> defaults.SegmentThresholds:
        return defaults.SegmentThresholds(
            lost_after_days=self.lost_after_days,
            dormant_after_days=self.dormant_after_days,
            at_risk_after_days=self.at_risk_after_days,
            vip_min_spent=Decimal(self.vip_min_spent),
            vip_min_frequency=self.vip_min_frequency,
            regular_min_frequency=self.regular_min_frequency,
        )


class VenueMembership(models.Model):
    """A user's access to a venue: read, or read and write (ingestion, recompute)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="venue_memberships"
    )
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="memberships")
    can_write = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "venue"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        access = "read/write" if self.can_write else "read"
        return f"{self.user} @ {self.venue} ({access})"


class CustomerEvent(models.Model):
    """One purchase or engagement event. Append-only: nothing updates or deletes these rows."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by the leading column of every composite index below; a separate one would only
    # cost a write per stored event.
    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    event_id = models.CharField(max_length=128, help_text="Client-supplied idempotency key.")
    customer = models.CharField(max_length=PSEUDONYM_LENGTH, help_text="Customer pseudonym.")
    type = models.CharField(max_length=32, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(null=True, blank=True, **MONEY)
    quantity = models.PositiveIntegerField(default=1)
    event_category = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=64, blank=True, default="")
    campaign = models.CharField(max_length=128, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["venue", "event_id"], name="unique_event_per_venue"),
        ]
        indexes = [
            # One customer's events in time order (journey, single-customer recompute).
            models.Index(fields=["venue", "customer", "occurred_at"], name="event_customer_time"),
            # "Events since" for a venue (admin date filter, backtests, time-window scans).
            # Incremental work needs no index on arrival time: ingestion marks the customers
            # it touched in PendingCustomer.
            models.Index(fields=["venue", "occurred_at"], name="event_venue_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PendingCustomer(models.Model):
    """A customer with events not yet reflected in their profile.

    Written by ingestion in the same transaction as the events, so the mark survives a broker
    outage; the incremental recompute consumes it.
    """

    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="pending_customers", db_index=False
    )
    customer = models.CharField(max_length=PSEUDONYM_LENGTH)
    marked_at = models.DateTimeField()
    # True when every event behind the mark also updated the customer's CustomerFacts row (REST
    # and CSV ingestion on PostgreSQL); a run then reads the facts instead of the events.
    facts_current = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["venue", "customer"], name="unique_pending_customer"),
        ]

    def __str__(self) -> str:
        return f"pending {self.customer[:12]}…"


class CustomerFacts(models.Model):
    """Per-customer aggregates of the whole event log, kept current by ingestion on PostgreSQL
    and refreshed from the events elsewhere (and after bulk loads).

    The nightly full run reads these summary rows instead of rescanning every event; money is
    kept in integer cents because summing and transferring integers is far cheaper.
    """

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the unique key leads with the venue.
    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="customer_facts", db_index=False
    )
    customer = models.CharField(max_length=PSEUDONYM_LENGTH)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    purchase_count = models.IntegerField(default=0)
    purchase_cents = models.BigIntegerField(default=0)
    purchase_quantity = models.BigIntegerField(default=0)
    refund_count = models.IntegerField(default=0)
    refund_cents = models.BigIntegerField(default=0)
    refund_quantity = models.BigIntegerField(default=0)
    first_purchase_at = models.DateTimeField(null=True)
    last_purchase_at = models.DateTimeField(null=True)
    # Distinct local days with a purchase: BG/NBD counts repeat purchase occasions.
    purchase_days = models.IntegerField(default=0)
    # Those days (days since 1970-01-01, local), sorted: ingestion merges a batch's days into
    # them, so purchase_days stays exact without rereading the customer's events.
    purchase_day_numbers = models.JSONField(default=list, db_default=[])
    # Purchase cents on the first of those days, and the days with a purchase of positive value
    # (kept as a sorted list, like purchase_day_numbers, so ingestion can merge them).
    first_day_purchase_cents = models.BigIntegerField(default=0, db_default=0)
    paid_purchase_days = models.IntegerField(default=0, db_default=0)
    paid_day_numbers = models.JSONField(default=list, db_default=[])
    morning_purchases = models.IntegerField(default=0)
    afternoon_purchases = models.IntegerField(default=0)
    evening_purchases = models.IntegerField(default=0)
    # {"concert": 3, "comedy": 1}: purchases per event category.
    category_counts = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "customer facts"
        constraints = [
            models.UniqueConstraint(fields=["venue", "customer"], name="unique_facts_customer"),
        ]

    def __str__(self) -> str:
        return f"facts {self.customer[:12]}…"


class CustomerProfile(models.Model):
    """The cached profile of one customer at one venue, as of `as_of`."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: every index of the table leads with the venue.
    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="profiles", db_index=False
    )
    customer = models.CharField(max_length=PSEUDONYM_LENGTH, help_text="Customer pseudonym.")

    total_purchases = models.IntegerField(default=0)
    total_spent = models.DecimalField(default=Decimal("0"), **MONEY)
    total_tickets = models.IntegerField(default=0)
    average_order_value = models.DecimalField(default=Decimal("0"), **MONEY)
    purchase_frequency = models.FloatField(default=0.0, help_text="Purchases per year.")
    days_since_last_purchase = models.IntegerField(null=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    first_purchase_at = models.DateTimeField(null=True)
    last_purchase_at = models.DateTimeField(null=True)
    segment = models.CharField(max_length=16, choices=Segment.choices)
    churn_probability = models.FloatField(null=True)
    predicted_lifetime_value = models.DecimalField(default=Decimal("0"), **MONEY)
    # Up to three preferred event categories, most purchased first.
    preferred_event_types = models.JSONField(default=list)
    top_event_type = models.CharField(max_length=64, blank=True, default="")
    second_event_type = models.CharField(max_length=64, blank=True, default="")
    third_event_type = models.CharField(max_length=64, blank=True, default="")
    # Null, not "", when there is no purchase: the API answers null.
    purchase_time = models.CharField(  # noqa: DJ001
        max_length=16, choices=PurchaseTime.choices, null=True
    )

    rfm_recency = models.IntegerField("RFM recency (days)", null=True)
    rfm_frequency = models.IntegerField("RFM frequency", null=True)
    rfm_monetary = models.DecimalField("RFM monetary", null=True, **MONEY)
    recency_score = models.SmallIntegerField(null=True)
    frequency_score = models.SmallIntegerField(null=True)
    monetary_score = models.SmallIntegerField(null=True)
    rfm_segment = models.CharField("RFM segment", max_length=32)

    insights = models.JSONField(default=list)
    # Refunds larger than purchases at the venue (a refund may arrive before its purchase).
    refunds_exceed_purchases = models.BooleanField(default=False, db_default=False)

    # Probabilistic predictions (the venue's purchase model + Gamma-Gamma); null with a reason
    # when no usable fit. `prediction_model` names the purchase model ("" when none).
    probability_alive = models.FloatField(null=True)
    expected_purchases_90d = models.FloatField(null=True)
    expected_purchases_365d = models.FloatField(null=True)
    predicted_clv_365d = models.DecimalField("predicted CLV, 365 days", null=True, **MONEY)
    predicted_clv_3y = models.DecimalField("predicted CLV, 3 years", null=True, **MONEY)
    expected_next_order_at = models.DateTimeField(null=True)
    average_days_between_orders = models.FloatField(null=True)
    prediction_model = models.CharField(
        max_length=16, blank=True, default="", choices=PURCHASE_MODEL_CHOICES
    )
    prediction_unavailable_reason = models.CharField(max_length=200, blank=True, default="")

    as_of = models.DateTimeField()
    computed_at = models.DateTimeField()
    # The segments the venue's last full run gave this customer (null when first stored by
    # another run): the next full run counts moves between segments from them.
    full_run_segment = models.CharField(max_length=16, null=True, editable=False)  # noqa: DJ001
    full_run_rfm_segment = models.CharField(max_length=32, null=True, editable=False)  # noqa: DJ001

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["venue", "customer"], name="unique_profile_customer"),
        ]
        indexes = [
            models.Index(fields=["venue", "segment", "id"], name="profile_segment"),
            # A segment in the search's default order (spend): "new" customers all have spent
            # nothing, so a walk of profile_spent reached them only after the whole venue.
            models.Index(
                fields=["venue", "segment", "total_spent", "id"], name="profile_segment_spent"
            ),
            models.Index(fields=["venue", "rfm_segment", "id"], name="profile_rfm_segment"),
            models.Index(fields=["venue", "total_spent", "id"], name="profile_spent"),
            models.Index(fields=["venue", "churn_probability", "id"], name="profile_churn"),
            models.Index(fields=["venue", "predicted_lifetime_value", "id"], name="profile_clv"),
            models.Index(fields=["venue", "last_purchase_at", "id"], name="profile_last_purchase"),
            models.Index(fields=["venue", "top_event_type"], name="profile_event_type_1"),
            models.Index(fields=["venue", "second_event_type"], name="profile_event_type_2"),
            models.Index(fields=["venue", "third_event_type"], name="profile_event_type_3"),
            models.Index(fields=["venue", "probability_alive", "id"], name="profile_p_alive"),
            models.Index(fields=["venue", "predicted_clv_365d", "id"], name="profile_pred_clv"),
        ]

    def __str__(self) -> str:
        return f"{self.customer[:12]}… at {self.venue}"


class RunMode(models.TextChoices):
    FULL = "full"
    INCREMENTAL = "incremental"
    SINGLE = "single"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class RecomputeRun(models.Model):
    """One recompute of a venue's profiles: what was asked, what happened, how long it took."""

    id = models.BigAutoField(primary_key=True)
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="runs")
    mode = models.CharField(max_length=16, choices=RunMode.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    as_of = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    customers_processed = models.IntegerField(default=0)
    events_processed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["venue", "status", "-finished_at"], name="run_venue_status"),
            # A venue's latest run (admin list, health) without scanning other venues' runs.
            models.Index(fields=["venue", "-id"], name="run_venue_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.mode} run {self.pk} ({self.status})"


# Personal-data operations, purchase-model fits and aggregates over time live in modules of
# their own; importing them here registers them with the app.
from customer_intel.prediction_models import PredictionModelFit  # noqa: E402, F401
from customer_intel.privacy_models import (  # noqa: E402, F401
    PrivacyAction,
    PrivacyAuditEntry,
    SuppressedCustomer,
)
from customer_intel.trends.models import (  # noqa: E402, F401
    SegmentFlowSet,
    SegmentHistoryPoint,
    SegmentSnapshot,
)
