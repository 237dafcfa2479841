"""Facts rows as plain JSON values, to compare them across databases and processes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from customer_intel.models import CustomerFacts, Venue
from customer_intel.services import facts
from tests.recompute import scenario

# Each process has its own HMAC key, so customers are named by their scenario label.
_LABEL_OF = {pseudonym: label for label, pseudonym in scenario.LABELS.items()}


def scenario_label(customer: str) -> str:
    return _LABEL_OF[customer]


def plain(values: dict[str, Any]) -> dict[str, Any]:
    """A row with JSON values, its customer named by label."""
    return {
        name: _LABEL_OF[value]
        if name == "customer"
        else value.isoformat()
        if isinstance(value, datetime)
        else value
        for name, value in values.items()
    }


def stored_rows(venue: Venue) -> dict[str, dict[str, Any]]:
    """Every stored facts row of the venue (day numbers included), by customer label."""
    return {
        _LABEL_OF[values[0]]: plain(dict(zip(facts.STORED_FIELDS, values, strict=True)))
        for values in CustomerFacts.objects.filter(venue=venue).values_list(*facts.STORED_FIELDS)
    }


def as_of_rows(venue: Venue, *, customers: list[str]) -> dict[str, dict[str, Any]]:
    """The customers' facts over their events at or before the scenario's as-of, not stored,
    by customer label."""
    rows, _events = facts.facts_for_customers(
        venue=venue, customers=customers, cutoff=scenario.AS_OF
    )
    return {_LABEL_OF[row.customer]: plain(asdict(row)) for row in rows}
