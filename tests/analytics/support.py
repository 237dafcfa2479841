"""Helpers shared by the pure analytics tests (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from customer_intel.analytics.facts import CustomerFactsRow

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CUSTOMER = "c" * 64


def buyer(
    *,
    days_ago: float,
    first_days_ago: float | None = None,
    purchases: int = 1,
    cents: int = 10_000,
    quantity: int | None = None,
    **extra: object,
) -> CustomerFactsRow:
    """Facts of a customer whose last purchase was `days_ago` days before AS_OF."""
    last = AS_OF - timedelta(days=days_ago)
    first = AS_OF - timedelta(days=first_days_ago) if first_days_ago is not None else last
    return CustomerFactsRow(
        customer=CUSTOMER,
        first_seen=first,
        last_seen=last,
        purchase_count=purchases,
        purchase_cents=cents,
        purchase_quantity=purchases if quantity is None else quantity,
        first_purchase_at=first,
        last_purchase_at=last,
        **extra,  # type: ignore[arg-type]
    )
