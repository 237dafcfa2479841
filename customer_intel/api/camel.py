"""The one mapping between the API's camelCase names and the models' snake_case fields.

Query parameters (ordering, CSV columns) and response keys are spelled from here, so a field is
renamed in exactly one place.
"""

from __future__ import annotations

# Profile fields a client may sort the search by: API name → model field.
ORDERING_FIELDS: dict[str, str] = {
    "totalSpent": "total_spent",
    "churnProbability": "churn_probability",
    "predictedLifetimeValue": "predicted_lifetime_value",
    "lastPurchaseAt": "last_purchase_at",
    "daysSinceLastPurchase": "days_since_last_purchase",
    "totalPurchases": "total_purchases",
    "probabilityAlive": "probability_alive",
    "predictedClv365d": "predicted_clv_365d",
}

# Columns of the CSV export, in order: header → model field.
CSV_COLUMNS: dict[str, str] = {
    "customerId": "customer",
    "segment": "segment",
    "rfmSegment": "rfm_segment",
    "totalPurchases": "total_purchases",
    "totalSpent": "total_spent",
    "totalTickets": "total_tickets",
    "averageOrderValue": "average_order_value",
    "purchaseFrequency": "purchase_frequency",
    "daysSinceLastPurchase": "days_since_last_purchase",
    "firstPurchaseAt": "first_purchase_at",
    "lastPurchaseAt": "last_purchase_at",
    "churnProbability": "churn_probability",
    "predictedLifetimeValue": "predicted_lifetime_value",
    "probabilityAlive": "probability_alive",
    "predictedClv365d": "predicted_clv_365d",
    "topEventType": "top_event_type",
    "purchaseTime": "purchase_time",
    "asOf": "as_of",
}


def to_camel(snake: str) -> str:
    """`days_since_last_purchase` → `daysSinceLastPurchase`."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
