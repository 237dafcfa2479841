"""How the service writes values for people and clients: instants, money, rounded measures.

One definition for every answer (JSON and CSV alike) and for the text of the stored insights:

- an instant is ISO 8601 in UTC with "Z", to the whole second ("2026-03-01T12:00:00Z");
  fractions are dropped, never rounded, so a written instant is never later than the real one
  (a client filtering on it still finds the row);
- money is a decimal string with two places ("1234.50"); in prose it carries the venue's
  currency ("EUR 1,234.50");
- probabilities have 4 decimals, expected purchases (and purchases per year) 2, days 1.

Pure: no Django import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

PROBABILITY_DECIMALS = 4
PURCHASES_DECIMALS = 2
DAYS_DECIMALS = 1


def instant_text(value: datetime | None) -> str | None:
    """`value` as ISO 8601 in UTC with "Z", whole seconds; None stays None."""
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(UTC)
    # "YYYY-MM-DDTHH:MM:SS" and whatever offset follows; isoformat is the cheapest way there.
    return value.isoformat(timespec="seconds")[:19] + "Z"


def money_text(value: Decimal | None) -> str | None:
    """A decimal string with two places ("1234.50"); None stays None."""
    return None if value is None else f"{value:.2f}"


def money_prose(value: Decimal, currency: str) -> str:
    """An amount in a sentence: the currency code, thousands separated ("EUR 1,234.50")."""
    return f"{currency} {value:,.2f}"


def probability(value: float | None) -> float | None:
    return None if value is None else round(float(value), PROBABILITY_DECIMALS)


def purchases(value: float | None) -> float | None:
    """Expected purchases, or purchases per year."""
    return None if value is None else round(float(value), PURCHASES_DECIMALS)


def days(value: float | None) -> float | None:
    return None if value is None else round(float(value), DAYS_DECIMALS)
