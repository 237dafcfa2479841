"""The per-customer prediction keys, defined once.

`PREDICTION_FIELDS` are the `CustomerProfile` columns the predictions fill (the profile store
writes them, the API reads them); a venue model's per-customer mapping has those keys and
`INSIGHT_ONLY_KEYS`, which feed the insights without being stored.
"""

from __future__ import annotations

PREDICTION_FIELDS: tuple[str, ...] = (
    "probability_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "predicted_clv_365d",
    "predicted_clv_3y",
    "expected_next_order_at",
    "average_days_between_orders",
    # The purchase model behind the figures ("" when there are none).
    "prediction_model",
    "prediction_unavailable_reason",
)
INSIGHT_ONLY_KEYS: tuple[str, ...] = ("expected_purchases_30d",)
PREDICTION_KEYS: tuple[str, ...] = (*PREDICTION_FIELDS, *INSIGHT_ONLY_KEYS)
