"""Customer insights: short, actionable findings a marketing team can act on.

Each insight is one rule function over `InsightInputs` that returns an `Insight` or None;
`INSIGHT_RULES` lists them in the order they are reported. Adding an insight is adding a rule
and listing it — no caller changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from customer_intel.analytics.formats import (
    instant_text,
    money_prose,
    money_text,
    probability,
    purchases,
)
from customer_intel.analytics.rules import cents_to_decimal
from customer_intel.analytics.thresholds import SLIPPING_PROBABILITY_ALIVE

CHURN_RISK = "churn_risk"
LOW_ENGAGEMENT = "low_engagement"
HIGH_VALUE = "high_value"
HIGH_VALUE_SLIPPING = "high_value_slipping"
LIKELY_TO_BUY = "likely_to_buy"
AUDIT_VALUE_UNLIKELY = "audit_value_unlikely"
INSIGHT_TYPES: tuple[str, ...] = (
    CHURN_RISK,
    LOW_ENGAGEMENT,
    HIGH_VALUE,
    HIGH_VALUE_SLIPPING,
    AUDIT_VALUE_UNLIKELY,
    LIKELY_TO_BUY,
)

IMPACT_HIGH = "high"
IMPACT_MEDIUM = "medium"

# The audit's triggers; every comparison is strict except the model-driven "at least".
CHURN_RISK_ABOVE = 0.6
CHURN_RISK_VALID = timedelta(days=7)
INACTIVE_AFTER_DAYS = 90
LOW_ENGAGEMENT_VALID = timedelta(days=14)
HIGH_VALUE_ABOVE_CENTS = 100_000  # 1000.00 in the venue's currency
HIGH_VALUE_VALID = timedelta(days=30)
LIKELY_TO_BUY_MIN_EXPECTED_30D = 0.5
LIKELY_TO_BUY_VALID = timedelta(days=7)
HIGH_VALUE_SLIPPING_VALID = timedelta(days=7)
# The audit rule's three-year value (AOV x frequency x 3) counts a customer as buying on at
# their past rate; when it is high and the model says they have most likely lapsed, the two
# figures disagree and the rule's one should not be budgeted on.
AUDIT_VALUE_HIGH_ABOVE_CENTS = HIGH_VALUE_ABOVE_CENTS
AUDIT_VALUE_UNLIKELY_BELOW_ALIVE = 0.2
AUDIT_VALUE_UNLIKELY_VALID = timedelta(days=7)

CHURN_RISK_ACTIONS = (
    "Send personalized retention offer",
    "Reach out with exclusive event previews",
)
LOW_ENGAGEMENT_ACTIONS = ("Send re-engagement campaign",)
HIGH_VALUE_ACTIONS = ("Provide VIP treatment",)
LIKELY_TO_BUY_ACTIONS = (
    "Recommend upcoming events in their preferred categories",
    "Time the next campaign for the coming weeks",
)
AUDIT_VALUE_UNLIKELY_ACTIONS = (
    "Do not budget on the audit-rule lifetime value for this customer: use the model's",
    "Try one win-back offer before treating them as lapsed",
)
HIGH_VALUE_SLIPPING_ACTIONS = (
    "Reach out personally before they lapse",
    "Offer priority access to their next favourite event",
)


# Not frozen: a frozen dataclass's __init__ costs several times more, and insights are built
# for every customer of a run. Treat instances as values all the same.
@dataclass(slots=True)
class Insight:
    """One finding about a customer, valid until `valid_until` (the run's as-of + validity).

    `metadata` holds the figures that triggered it, keyed in camelCase and JSON-ready, written
    as every answer writes them (`analytics.formats`: money as a two-decimal string,
    probabilities and expected purchases rounded). Amounts in the description carry the
    venue's currency.
    """

    type: str
    title: str
    description: str
    impact: str
    actionable: bool
    suggested_actions: tuple[str, ...]
    valid_until: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


# Not frozen: built once per customer and thrown away, so the cheaper plain __init__ wins.
@dataclass(slots=True)
class InsightInputs:
    """What the insight rules read: the profile's figures and optional model predictions."""

    as_of: datetime
    churn_probability: float | None
    days_since_last_purchase: int | None
    total_spent_cents: int
    currency: str
    probability_alive: float | None = None
    expected_purchases_30d: float | None = None
    slipping_threshold: float = SLIPPING_PROBABILITY_ALIVE
    audit_lifetime_value_cents: int = 0


def _churn_risk(inputs: InsightInputs) -> Insight | None:
    churn = inputs.churn_probability
    if churn is None or churn <= CHURN_RISK_ABOVE:
        return None
    return Insight(
        type=CHURN_RISK,
        title="High Churn Risk",
        description=(
            f"Churn probability is {churn:.0%}: the last purchase was "
            f"{_days(inputs.days_since_last_purchase)} ago."
        ),
        impact=IMPACT_HIGH,
        actionable=True,
        suggested_actions=CHURN_RISK_ACTIONS,
        valid_until=inputs.as_of + CHURN_RISK_VALID,
        metadata={
            "churnProbability": probability(churn),
            "daysSinceLastPurchase": inputs.days_since_last_purchase,
        },
    )


def _low_engagement(inputs: InsightInputs) -> Insight | None:
    days = inputs.days_since_last_purchase
    if days is None or days <= INACTIVE_AFTER_DAYS:
        return None
    return Insight(
        type=LOW_ENGAGEMENT,
        title="Inactive Customer",
        description=(
            f"No purchase in {_days(days)}, more than the {INACTIVE_AFTER_DAYS} days "
            "after which a customer counts as inactive."
        ),
        impact=IMPACT_MEDIUM,
        actionable=True,
        suggested_actions=LOW_ENGAGEMENT_ACTIONS,
        valid_until=inputs.as_of + LOW_ENGAGEMENT_VALID,
        metadata={"daysSinceLastPurchase": days},
    )


def _high_value(inputs: InsightInputs) -> Insight | None:
    if inputs.total_spent_cents <= HIGH_VALUE_ABOVE_CENTS:
        return None
    spent = cents_to_decimal(inputs.total_spent_cents)
    mark = cents_to_decimal(HIGH_VALUE_ABOVE_CENTS)
    return Insight(
        type=HIGH_VALUE,
        title="VIP Customer",
        description=(
            f"Has spent {money_prose(spent, inputs.currency)} in total, above the "
            f"{money_prose(mark, inputs.currency)} mark of a high-value customer."
        ),
        impact=IMPACT_HIGH,
        actionable=True,
        suggested_actions=HIGH_VALUE_ACTIONS,
        valid_until=inputs.as_of + HIGH_VALUE_VALID,
        metadata={"totalSpent": money_text(spent)},
    )


def _high_value_slipping(inputs: InsightInputs) -> Insight | None:
    alive = inputs.probability_alive
    if (
        alive is None
        or inputs.total_spent_cents <= HIGH_VALUE_ABOVE_CENTS
        or alive >= inputs.slipping_threshold
    ):
        return None
    spent = cents_to_decimal(inputs.total_spent_cents)
    return Insight(
        type=HIGH_VALUE_SLIPPING,
        title="High-Value Customer Slipping",
        description=(
            f"Has spent {money_prose(spent, inputs.currency)} in total, but the chance they are "
            "still an active customer "
            f"has fallen to {alive:.0%} (below {inputs.slipping_threshold:.0%})."
        ),
        impact=IMPACT_HIGH,
        actionable=True,
        suggested_actions=HIGH_VALUE_SLIPPING_ACTIONS,
        valid_until=inputs.as_of + HIGH_VALUE_SLIPPING_VALID,
        metadata={
            "totalSpent": money_text(spent),
            "probabilityAlive": probability(alive),
            "slippingThreshold": inputs.slipping_threshold,
        },
    )


def _audit_value_unlikely(inputs: InsightInputs) -> Insight | None:
    alive = inputs.probability_alive
    value_cents = inputs.audit_lifetime_value_cents
    if (
        alive is None
        or value_cents <= AUDIT_VALUE_HIGH_ABOVE_CENTS
        or alive >= AUDIT_VALUE_UNLIKELY_BELOW_ALIVE
    ):
        return None
    value = cents_to_decimal(value_cents)
    mark = cents_to_decimal(AUDIT_VALUE_HIGH_ABOVE_CENTS)
    return Insight(
        type=AUDIT_VALUE_UNLIKELY,
        title="Audit-Rule Value Unlikely",
        description=(
            "The audit rule (AOV x frequency x 3) values this customer at "
            f"{money_prose(value, inputs.currency)} over three years, above the "
            f"{money_prose(mark, inputs.currency)} mark, assuming they keep buying at their "
            f"past rate; the purchase model gives only a {alive:.1%} chance that they are "
            "still an active customer, so that value is unlikely to materialise."
        ),
        impact=IMPACT_HIGH,
        actionable=True,
        suggested_actions=AUDIT_VALUE_UNLIKELY_ACTIONS,
        valid_until=inputs.as_of + AUDIT_VALUE_UNLIKELY_VALID,
        metadata={
            "predictedLifetimeValue": money_text(value),
            "probabilityAlive": probability(alive),
            "probabilityAliveBelow": AUDIT_VALUE_UNLIKELY_BELOW_ALIVE,
        },
    )


def _likely_to_buy(inputs: InsightInputs) -> Insight | None:
    expected = inputs.expected_purchases_30d
    if expected is None or expected < LIKELY_TO_BUY_MIN_EXPECTED_30D:
        return None
    metadata: dict[str, Any] = {"expectedPurchases30d": purchases(expected)}
    if inputs.probability_alive is not None:
        metadata["probabilityAlive"] = probability(inputs.probability_alive)
    return Insight(
        type=LIKELY_TO_BUY,
        title="Likely To Buy Again",
        description=f"Expected to make {expected:.2f} purchases in the next 30 days.",
        impact=IMPACT_MEDIUM,
        actionable=True,
        suggested_actions=LIKELY_TO_BUY_ACTIONS,
        valid_until=inputs.as_of + LIKELY_TO_BUY_VALID,
        metadata=metadata,
    )


INSIGHT_RULES: tuple[Callable[[InsightInputs], Insight | None], ...] = (
    _churn_risk,
    _low_engagement,
    _high_value,
    _high_value_slipping,
    _audit_value_unlikely,
    _likely_to_buy,
)


def _days(days: int | None) -> str:
    return "1 day" if days == 1 else f"{days} days"


def build_insights(
    *,
    as_of: datetime,
    churn_probability: float | None,
    days_since_last_purchase: int | None,
    total_spent_cents: int,
    currency: str,
    probability_alive: float | None = None,
    expected_purchases_30d: float | None = None,
    slipping_threshold: float = SLIPPING_PROBABILITY_ALIVE,
    audit_lifetime_value_cents: int = 0,
) -> list[Insight]:
    """Every insight whose rule matches, in `INSIGHT_RULES` order.

    `currency` is the venue's (ISO 4217), written with the amounts in the descriptions. The
    model-driven insights (likely to buy, high-value slipping, audit-rule value unlikely)
    appear only when the predictions are given.
    """
    inputs = InsightInputs(
        as_of=as_of,
        churn_probability=churn_probability,
        days_since_last_purchase=days_since_last_purchase,
        total_spent_cents=total_spent_cents,
        currency=currency,
        probability_alive=probability_alive,
        expected_purchases_30d=expected_purchases_30d,
        slipping_threshold=slipping_threshold,
        audit_lifetime_value_cents=audit_lifetime_value_cents,
    )
    found = []
    for rule in INSIGHT_RULES:
        insight = rule(inputs)
        if insight is not None:
            found.append(insight)
    return found


# A run writes the same few instants (as-of + each validity) for every customer.
@lru_cache(maxsize=256)
def _valid_until_text(value: datetime) -> str:
    return instant_text(value)  # type: ignore[return-value]


def insight_to_json(insight: Insight) -> dict[str, Any]:
    """The stored and served form of an insight: camelCase keys, `validUntil` an instant as
    every answer writes one (UTC, "Z", whole seconds)."""
    return {
        "type": insight.type,
        "title": insight.title,
        "description": insight.description,
        "impact": insight.impact,
        "actionable": insight.actionable,
        "suggestedActions": list(insight.suggested_actions),
        "validUntil": _valid_until_text(insight.valid_until),
        "metadata": dict(insight.metadata),
    }
