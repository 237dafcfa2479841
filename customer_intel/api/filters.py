"""Query parameters of the customer search: one Django form validates them, a table turns them
into filters, and the OpenAPI parameters are derived from the form's fields.

Every parameter is checked before any query runs; a bad value is a 400 naming the parameter.
Unknown parameters are ignored, as is usual for GET APIs (clients add cache busters and
tracking parameters). A plain form, built per request as Django builds every form, costs a
fifth of what a django-filter FilterSet did (its filters, form class and fields are rebuilt
for each request): 0.6 against 2.8 token lookups, measured in-process.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter

from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.analytics.vocabulary import MAX_CUSTOMER_ID_LENGTH
from customer_intel.api.camel import ORDERING_FIELDS
from customer_intel.models import PurchaseTime, Segment
from customer_intel.privacy import resolve_customer_id

MAX_EVENT_TYPE_LENGTH = 64
# Numeric parameters are bounded in magnitude, as the schema says (minimum, maximum): no
# customer's figure comes near, and PostgreSQL never sees a number it cannot compare
# (1E+200000 would overflow `numeric`). Within the bounds any number is taken, rounded to
# NUMBER_PLACES (stored figures have at most 4 decimals), however many digits it was written
# with: the schema cannot say "at most 20 digits".
MAX_NUMBER = Decimal("1e15")
NUMBER_PLACES = Decimal("1e-10")

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


def _choices(choices: list[tuple[str, str]], help_text: str) -> forms.Field:
    return CommaSeparatedMultipleChoiceField(required=False, choices=choices, help_text=help_text)


class BoundedNumberField(forms.DecimalField):
    """A number within ±MAX_NUMBER, rounded to NUMBER_PLACES once validated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=-MAX_NUMBER, max_value=MAX_NUMBER, **kwargs)

    def clean(self, value: Any) -> Decimal | None:
        number = super().clean(value)
        return None if number is None else number.quantize(NUMBER_PLACES)


def _number(help_text: str) -> BoundedNumberField:
    return BoundedNumberField(required=False, help_text=help_text)


class SearchParameters(forms.Form):
    """Filters of `GET /customers/venue/{venueId}/search`; ranges are inclusive."""

    segment = _choices(
        Segment.choices, "One or more segments (repeat the parameter or separate with commas)."
    )
    rfmSegment = _choices(
        [(name, name) for name in RFM_SEGMENTS],
        "One or more RFM segments (repeat the parameter or separate with commas).",
    )
    minTotalSpent = _number("Total spent at least this.")
    maxTotalSpent = _number("Total spent at most this.")
    minChurnProbability = _number("Churn probability ≥ this.")
    maxChurnProbability = _number("Churn probability ≤ this.")
    minPredictedLifetimeValue = _number("Predicted lifetime value at least this.")
    maxPredictedLifetimeValue = _number("Predicted lifetime value at most this.")
    minProbabilityAlive = _number("P(alive) at least this.")
    maxProbabilityAlive = _number("P(alive) at most this.")
    minPredictedClv365d = _number("Model-predicted 365-day value at least this.")
    maxPredictedClv365d = _number("Model-predicted 365-day value at most this.")
    lastPurchaseAfter = forms.DateTimeField(
        required=False,
        help_text="Last purchase at or after this ISO 8601 date or date-time (UTC if naive).",
    )
    lastPurchaseBefore = forms.DateTimeField(
        required=False, help_text="Last purchase strictly before this ISO 8601 date or date-time."
    )
    eventType = forms.CharField(
        required=False,
        max_length=MAX_EVENT_TYPE_LENGTH,
        help_text="An event category among the customer's three preferred ones.",
    )
    purchaseTime = forms.ChoiceField(
        required=False,
        choices=PurchaseTime.choices,
        help_text="The customer's usual purchase time of day.",
    )
    q = forms.CharField(
        required=False,
        max_length=MAX_CUSTOMER_ID_LENGTH,
        strip=False,
        help_text="A customer id, raw or pseudonym (64 lowercase hex characters).",
    )
    ordering = forms.ChoiceField(
        required=False,
        choices=ORDERING_CHOICES,
        help_text=f"Sort field, `-` prefix for descending; ties by id. Default {DEFAULT_ORDERING}.",
    )


# Each parameter's filter on the profile table (the given value goes where the lookup says).
LOOKUPS = {
    "segment": "segment__in",
    "rfmSegment": "rfm_segment__in",
    "minTotalSpent": "total_spent__gte",
    "maxTotalSpent": "total_spent__lte",
    "minChurnProbability": "churn_probability__gte",
    "maxChurnProbability": "churn_probability__lte",
    "minPredictedLifetimeValue": "predicted_lifetime_value__gte",
    "maxPredictedLifetimeValue": "predicted_lifetime_value__lte",
    "minProbabilityAlive": "probability_alive__gte",
    "maxProbabilityAlive": "probability_alive__lte",
    "minPredictedClv365d": "predicted_clv_365d__gte",
    "maxPredictedClv365d": "predicted_clv_365d__lte",
    "lastPurchaseAfter": "last_purchase_at__gte",
    "lastPurchaseBefore": "last_purchase_at__lt",
    "purchaseTime": "purchase_time",
}


def given(cleaned: dict[str, Any]) -> dict[str, Any]:
    """The parameters a request gave (empty values are not given), ordering aside."""
    return {
        name: value
        for name, value in cleaned.items()
        if name != "ordering" and value not in (None, "", [])
    }


def search_filter(cleaned: dict[str, Any]) -> Q:
    """The profiles matching every given parameter."""
    condition = Q()
    for name, value in given(cleaned).items():
        if name == "eventType":
            condition &= (
                Q(top_event_type=value) | Q(second_event_type=value) | Q(third_event_type=value)
            )
        elif name == "q":
            condition &= Q(customer=resolve_customer_id(value))
        else:
            condition &= Q(**{LOOKUPS[name]: value})
    return condition


def openapi_parameters(form: type[forms.Form]) -> list[OpenApiParameter]:
    """The form's fields as OpenAPI query parameters, with their bounds and choices."""
    parameters = []
    for name, field in form.base_fields.items():
        schema: dict[str, Any] = {"type": "string"}
        options: dict[str, Any] = {}
        if isinstance(field, CommaSeparatedMultipleChoiceField):
            schema = {"type": "array", "items": {"type": "string", "enum": _values(field)}}
            options = {"style": "form", "explode": True}
        elif isinstance(field, forms.ChoiceField):
            schema["enum"] = _values(field)
        elif isinstance(field, BoundedNumberField):
            schema = {
                "type": "number",
                "minimum": float(field.min_value),
                "maximum": float(field.max_value),
            }
        elif isinstance(field, forms.DateTimeField):
            schema["format"] = "date-time"
        elif isinstance(field, forms.CharField):
            # Django's text fields refuse NUL ("Null characters are not allowed.").
            schema["pattern"] = "^[^\\u0000]*$"
            if field.max_length:
                schema["maxLength"] = field.max_length
        parameters.append(
            OpenApiParameter(name, schema, description=str(field.help_text), **options)
        )
    return parameters


def _values(field: forms.ChoiceField) -> list[str]:
    return [value for value, _label in field.choices]
