"""Query parameters of the customer search, validated by django-filter.

Every parameter is checked before any query runs; a bad value is a 400 naming the parameter.
Unknown parameters are ignored, as is usual for GET APIs (clients add cache busters and
tracking parameters).
"""

from __future__ import annotations

import functools
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import QueryDict

from customer_intel.api.camel import ORDERING_FIELDS
from customer_intel.models import CustomerProfile, PurchaseTime, Segment
from customer_intel.privacy import resolve_customer_id

MAX_CUSTOMER_ID_LENGTH = 256
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


def _rfm_segment_choices() -> list[tuple[str, str]]:
    from customer_intel.analytics.rfm import RFM_SEGMENTS

    return [(name, name) for name in RFM_SEGMENTS]


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
        choices=_rfm_segment_choices,
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

    # django-filter deep-copies every filter and builds their form fields and a form class for
    # each request: about 1 ms for this set, a fifth of a search page. No filter, field or the
    # form keeps anything of a request (the methods below use only their arguments), so they
    # are built once per process and shared.
    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet | None = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset if queryset is not None else CustomerProfile.objects.all()
        self.request = request
        self.form_prefix = prefix
        self.filters, self._form_class = _shared_filters_and_form()

    def get_form_class(self) -> type[forms.Form]:
        return self._form_class

    def filter_event_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(top_event_type=value) | Q(second_event_type=value) | Q(third_event_type=value)
        )

    def filter_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(customer=resolve_customer_id(value))

    def keep_order(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Ordering is applied by the keyset paginator, which must know the field.
        return queryset


class _SharedFields(dict):
    """A form's fields that every instance of the form uses as they are (Django's form
    deep-copies its fields per instance in case it changes them; this one does not)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedFields:
        return self


@functools.cache
def _shared_filters_and_form() -> tuple[dict[str, django_filters.Filter], type[forms.Form]]:
    template = django_filters.FilterSet.__new__(CustomerProfileFilterSet)
    django_filters.FilterSet.__init__(template, queryset=CustomerProfile.objects.all())
    form_class = django_filters.FilterSet.get_form_class(template)
    form_class.base_fields = _SharedFields(form_class.base_fields)
    return template.filters, form_class
