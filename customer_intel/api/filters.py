"""Query parameters of the customer search, validated by django-filter.

Every parameter is checked before any query runs; a bad value is a 400 naming the parameter.
Unknown parameters are ignored, as is usual for GET APIs (clients add cache busters and
tracking parameters).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.api.camel import ORDERING_FIELDS
from customer_intel.api.parameters import MAX_CUSTOMER_ID_LENGTH
from customer_intel.models import CustomerProfile, PurchaseTime, Segment
from customer_intel.privacy import resolve_customer_id

MAX_EVENT_TYPE_LENGTH = 64
# Bounds numeric parameters so PostgreSQL never sees a number it cannot compare
# (1E+200000 would overflow `numeric`).
MAX_NUMBER_DIGITS = 20

ORDERING_CHOICES = [
    (f"{prefix}{name}", f"{name} {'descending' if prefix else 'ascending'}")
    for name in ORDERING_FIELDS
    for prefix in ("", "-")
]
DEFAULT_ORDERING = "-totalSpent"


class CommaSeparatedMultipleChoiceField(forms.MultipleChoiceField):
    """Accepts `?p=a&p=b`, `?p=a,b` or both."""

    def to_python(self, value: Any) -> list[str]:
        values = super().to_python(value)
        return [part.strip() for item in values for part in item.split(",") if part.strip()]


class InFilter(django_filters.MultipleChoiceFilter):
    """Rows whose field is any of the given choices (one `IN`, not a chain of ORs)."""

    field_class = CommaSeparatedMultipleChoiceField

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


def _number(field_name: str, lookup_expr: str, help_text: str) -> django_filters.NumberFilter:
    return django_filters.NumberFilter(
        field_name=field_name,
        lookup_expr=lookup_expr,
        max_digits=MAX_NUMBER_DIGITS,
        help_text=help_text,
    )


class CustomerProfileFilterSet(django_filters.FilterSet):
    """Filters of `GET /customers/venue/{venueId}/search`; ranges are inclusive."""

    segment = InFilter(
        field_name="segment",
        choices=Segment.choices,
        help_text="One or more segments (repeat the parameter or separate with commas).",
    )
    rfmSegment = InFilter(
        field_name="rfm_segment",
        choices=[(name, name) for name in RFM_SEGMENTS],
        help_text="One or more RFM segments (repeat the parameter or separate with commas).",
    )
    minTotalSpent = _number("total_spent", "gte", "Total spent at least this.")
    maxTotalSpent = _number("total_spent", "lte", "Total spent at most this.")
    minChurnProbability = _number("churn_probability", "gte", "Churn probability ≥ this.")
    maxChurnProbability = _number("churn_probability", "lte", "Churn probability ≤ this.")
    minPredictedLifetimeValue = _number(
        "predicted_lifetime_value", "gte", "Predicted lifetime value at least this."
    )
    maxPredictedLifetimeValue = _number(
        "predicted_lifetime_value", "lte", "Predicted lifetime value at most this."
    )
    minProbabilityAlive = _number("probability_alive", "gte", "P(alive) at least this.")
    maxProbabilityAlive = _number("probability_alive", "lte", "P(alive) at most this.")
    minPredictedClv365d = _number(
        "predicted_clv_365d", "gte", "Model-predicted 365-day value at least this."
    )
    maxPredictedClv365d = _number(
        "predicted_clv_365d", "lte", "Model-predicted 365-day value at most this."
    )
    lastPurchaseAfter = django_filters.IsoDateTimeFilter(
        field_name="last_purchase_at",
        lookup_expr="gte",
        help_text="Last purchase at or after this ISO 8601 date or date-time (UTC if naive).",
    )
    lastPurchaseBefore = django_filters.IsoDateTimeFilter(
        field_name="last_purchase_at",
        lookup_expr="lt",
        help_text="Last purchase strictly before this ISO 8601 date or date-time.",
    )
    eventType = django_filters.CharFilter(
        method="filter_event_type",
        max_length=MAX_EVENT_TYPE_LENGTH,
        help_text="An event category among the customer's three preferred ones.",
    )
    purchaseTime = django_filters.ChoiceFilter(
        field_name="purchase_time",
        choices=PurchaseTime.choices,
        help_text="The customer's usual purchase time of day.",
    )
    q = django_filters.CharFilter(
        method="filter_customer",
        max_length=MAX_CUSTOMER_ID_LENGTH,
        help_text="A customer id, raw or pseudonym (64 lowercase hex characters).",
    )
    ordering = django_filters.ChoiceFilter(
        method="keep_order",
        choices=ORDERING_CHOICES,
        help_text=f"Sort field, `-` prefix for descending; ties by id. Default {DEFAULT_ORDERING}.",
    )

    class Meta:
        model = CustomerProfile
        fields: list[str] = []

    def filter_event_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(top_event_type=value) | Q(second_event_type=value) | Q(third_event_type=value)
        )

    def filter_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(customer=resolve_customer_id(value))

    def keep_order(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Ordering is applied by the keyset paginator, which must know the field.
        return queryset
