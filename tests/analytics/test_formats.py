"""How values are written: one instant format, money with two places, rounded measures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from customer_intel.analytics import formats


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "2026-03-01T12:00:00Z"),
        (datetime(2026, 3, 1, 12, 0, 59, 999_999, tzinfo=UTC), "2026-03-01T12:00:59Z"),
        (
            datetime(2026, 3, 1, 14, 0, 1, tzinfo=timezone(timedelta(hours=2))),
            "2026-03-01T12:00:01Z",
        ),
        (datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2025-12-31T23:30:00Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (None, None),
    ],
)
def test_an_instant_is_utc_with_z_to_the_second_never_later(instant, text):
    assert formats.instant_text(instant) == text


@pytest.mark.parametrize(
    ("amount", "text", "prose"),
    [
        (Decimal("1234.5"), "1234.50", "EUR 1,234.50"),
        (Decimal("0"), "0.00", "EUR 0.00"),
        (Decimal("1000000"), "1000000.00", "EUR 1,000,000.00"),
    ],
)
def test_money(amount, text, prose):
    assert formats.money_text(amount) == text
    assert formats.money_prose(amount, "EUR") == prose


def test_measures_are_rounded_to_their_stated_precision():
    assert formats.probability(0.123456) == 0.1235
    assert formats.purchases(1.23456) == 1.23
    assert formats.days(91.26) == 91.3
    assert formats.probability(None) is formats.purchases(None) is formats.days(None) is None
