"""The SPEC's segmentation numbers (the audit's defaults) and the per-venue threshold set."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LOST_AFTER_DAYS = 365
DORMANT_AFTER_DAYS = 180
AT_RISK_AFTER_DAYS = 90
VIP_MIN_SPENT = Decimal("1000")
VIP_MIN_FREQUENCY = 4.0
REGULAR_MIN_FREQUENCY = 2.0

ANNUAL_DISCOUNT_RATE = 0.10
SLIPPING_PROBABILITY_ALIVE = 0.5


@dataclass(frozen=True, slots=True)
class SegmentThresholds:
    """Segment rule thresholds; every comparison is strict (days > 365 → lost, ...)."""

    lost_after_days: int = LOST_AFTER_DAYS
    dormant_after_days: int = DORMANT_AFTER_DAYS
    at_risk_after_days: int = AT_RISK_AFTER_DAYS
    vip_min_spent: Decimal = VIP_MIN_SPENT
    vip_min_frequency: float = VIP_MIN_FREQUENCY
    regular_min_frequency: float = REGULAR_MIN_FREQUENCY


DEFAULT_THRESHOLDS = SegmentThresholds()
