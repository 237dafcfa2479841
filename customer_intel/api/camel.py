"""The search's ordering parameter: the camelCase names clients sort by, and their model fields.

The answers' keys are declared with their fields in `answers`.
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
