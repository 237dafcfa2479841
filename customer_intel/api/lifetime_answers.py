"""The lifetime-value answers: the audit's rule of thumb and the model's figures, each named.

The audit's fields keep the audit's meaning (`predictedLifetimeValue` = AOV x frequency x 3,
`churnProbability` the step rule): clients of the old service rely on them. The model's
figures come from the venue's fitted purchase model with Gamma-Gamma spend. Every answer and
schema text says which figure is which.
"""

from __future__ import annotations

from rest_framework import serializers

from customer_intel.analytics.predictive.models import MODELS
from customer_intel.analytics.vocabulary import HORIZON_YEARS
from customer_intel.api.shapes import (
    DAYS,
    INSTANT,
    INTEGER,
    MONEY_TEXT,
    OPTIONAL_TEXT,
    PROBABILITY,
    PURCHASES,
    TEXT,
    Constant,
    Kind,
    Nested,
    Shape,
    Value,
)

# How each lifetime value is made, as the answers name it.
AUDIT_RULE_METHOD = "Audit rule: averageOrderValue × purchaseFrequency × 3"  # noqa: RUF001
AUDIT_CHURN_METHOD = "Audit rule: a step function of daysSinceLastPurchase"
AUDIT_RULE = "auditRule"
MODEL = "model"
# The stored model name ("" when none) as the answers write it: the model's label, or null.
MODEL_LABEL = Kind(
    lambda name: MODELS[name].label if name in MODELS else None,
    lambda **kwargs: serializers.ChoiceField(
        choices=[model.label for model in MODELS.values()], **kwargs
    ),
)
MODEL_METHOD = Kind(
    lambda name: f"{MODELS[name].label} with Gamma-Gamma" if name in MODELS else None,
    serializers.CharField,
)
# The model's figures are recommended exactly when the customer has them: the venue's fit was
# usable and their history long enough.
RECOMMENDED = Kind(
    lambda name: MODEL if name in MODELS else AUDIT_RULE,
    lambda **kwargs: serializers.ChoiceField(choices=[MODEL, AUDIT_RULE], **kwargs),
)
PROBABILITY_ALIVE_HELP = (
    "Model figure: the probability that the customer is still an active buyer as of `asOf`, "
    "from the venue's purchase model (BG/NBD, MBG/NBD or Pareto/NBD, chosen per venue by a "
    "holdout on its own history; `predictionModel` / `model.method` names it). Null, with "
    "`unavailableReason`, when the venue has no usable fit or the customer has no purchase."
)
AUDIT_LIFETIME_VALUE_HELP = (
    "Audit rule (not the model): averageOrderValue × purchaseFrequency × 3, a three-year "  # noqa: RUF001
    "horizon that assumes the customer keeps buying at their past rate. For the model's "
    "discounted value see `predictions.predictedClv3y`."
)
AUDIT_CHURN_HELP = (
    "Audit rule (not the model): a step function of daysSinceLastPurchase; null without a "
    "purchase. For the model's view see `predictions.probabilityAlive`."
)

PREDICTIONS = Shape(
    "Predictions",
    (
        Value(
            "probabilityAlive",
            "probability_alive",
            PROBABILITY,
            nullable=True,
            help=PROBABILITY_ALIVE_HELP,
        ),
        Value(
            "expectedPurchases90d",
            "expected_purchases_90d",
            PURCHASES,
            nullable=True,
            help="Model figure: expected purchases in the next 90 days.",
        ),
        Value(
            "expectedPurchases365d",
            "expected_purchases_365d",
            PURCHASES,
            nullable=True,
            help="Model figure: expected purchases in the next 365 days.",
        ),
        Value(
            "predictedClv365d",
            "predicted_clv_365d",
            MONEY_TEXT,
            nullable=True,
            help="Model figure: discounted expected spend over the next 365 days (purchase "
            "model × Gamma-Gamma spend on repeat purchases).",  # noqa: RUF001
        ),
        Value(
            "predictedClv3y",
            "predicted_clv_3y",
            MONEY_TEXT,
            nullable=True,
            help="Model figure: discounted expected spend over the next three years; the "
            "model's counterpart of the audit rule's `predictedLifetimeValue`.",
        ),
        Value("expectedDateOfNextOrder", "expected_next_order_at", INSTANT, nullable=True),
        Value("averageDaysBetweenOrders", "average_days_between_orders", DAYS, nullable=True),
        Value(
            "predictionModel",
            "prediction_model",
            MODEL_LABEL,
            nullable=True,
            help="The purchase model behind these figures (null when there are none).",
        ),
        Value("unavailableReason", "prediction_unavailable_reason", OPTIONAL_TEXT, nullable=True),
    ),
    help="The model's predictions (the venue's purchase model + Gamma-Gamma), served next to "
    "the audit rule's lifetime value and churn. Every figure is null, with `unavailableReason` "
    "saying why, when the venue's model fit was refused or the customer's history is too short.",
)

AUDIT_RULE_CLV = Shape(
    "AuditRuleClv",
    (
        Constant("method", AUDIT_RULE_METHOD, TEXT),
        Value("averageOrderValue", "average_order_value", MONEY_TEXT),
        Value("purchaseFrequency", "purchase_frequency", PURCHASES, help="Purchases per year."),
        Constant("horizonYears", HORIZON_YEARS, INTEGER),
        Value(
            "predictedLifetimeValue",
            "predicted_lifetime_value",
            MONEY_TEXT,
            help="averageOrderValue × purchaseFrequency × horizonYears, undiscounted.",  # noqa: RUF001
        ),
        Constant("churnMethod", AUDIT_CHURN_METHOD, TEXT),
        Value("churnProbability", "churn_probability", PROBABILITY, nullable=True),
    ),
    help="The audit's rule of thumb: the customer keeps buying at their past rate for three "
    "years. Always present.",
)

MODEL_CLV = Shape(
    "ModelClv",
    (
        Value(
            "method",
            "prediction_model",
            MODEL_METHOD,
            nullable=True,
            help="The venue's purchase model with Gamma-Gamma spend; null when there is none.",
        ),
        Value("probabilityAlive", "probability_alive", PROBABILITY, nullable=True),
        Value("expectedPurchases365d", "expected_purchases_365d", PURCHASES, nullable=True),
        Value("predictedClv365d", "predicted_clv_365d", MONEY_TEXT, nullable=True),
        Value(
            "predictedClv3y",
            "predicted_clv_3y",
            MONEY_TEXT,
            nullable=True,
            help="Discounted expected spend over three years.",
        ),
        Value("unavailableReason", "prediction_unavailable_reason", OPTIONAL_TEXT, nullable=True),
    ),
    help="The model's lifetime value, fitted on the venue's own customers: it weighs the chance "
    "that the customer has lapsed. Null figures, with `unavailableReason`, when the venue's fit "
    "is not usable or the customer has no purchase.",
)

CUSTOMER_CLV = Shape(
    "CustomerClv",
    (
        Value("customerId", "customer", TEXT),
        Value(
            "averageOrderValue",
            "average_order_value",
            MONEY_TEXT,
            help="Kept for existing clients; also in `auditRule`.",
        ),
        Value(
            "purchaseFrequency",
            "purchase_frequency",
            PURCHASES,
            help="Kept for existing clients; also in `auditRule`.",
        ),
        Constant(
            "horizonYears",
            HORIZON_YEARS,
            INTEGER,
            help="Kept for existing clients; also in `auditRule`.",
        ),
        Value("historicalValue", "total_spent", MONEY_TEXT, help="Total spent to date."),
        Value(
            "predictedLifetimeValue",
            "predicted_lifetime_value",
            MONEY_TEXT,
            help=AUDIT_LIFETIME_VALUE_HELP + " Kept for existing clients; also in `auditRule`.",
        ),
        Nested(
            "predictions",
            PREDICTIONS,
            help="Kept for existing clients; the lifetime figures are also in `model`.",
        ),
        Nested("auditRule", AUDIT_RULE_CLV),
        Nested("model", MODEL_CLV),
        Value(
            "recommended",
            "prediction_model",
            RECOMMENDED,
            help="Which of the two to use: `model` when the customer has the model's figures "
            "(the venue's fit is usable), else `auditRule`.",
        ),
        Value("asOf", "as_of", INSTANT),
        Value("computedAt", "computed_at", INSTANT),
    ),
    help="Lifetime value two ways, each with its method named: the audit's rule of thumb "
    "(`auditRule`) and the venue's fitted model (`model`); `recommended` says which to use.",
)
