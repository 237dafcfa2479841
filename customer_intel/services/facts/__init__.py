"""Per-customer facts: the event log aggregated into one `CustomerFacts` row per customer.

aggregate   the facts of a customer, defined once as ORM aggregates over their events
store       refresh some customers, rebuild a venue, read rows back
merge       fold a batch of ingested events into the stored rows (PostgreSQL)
pending     the marks of customers whose profile is behind their events
"""

from customer_intel.services.facts.aggregate import FACT_FIELDS, STORED_FIELDS
from customer_intel.services.facts.merge import facts_apply_events
from customer_intel.services.facts.pending import (
    PendingChunk,
    facts_for_pending,
    pending_clear,
    pending_mark,
    pending_take,
    stale_pending_count,
)
from customer_intel.services.facts.store import (
    facts_count,
    facts_for_customers,
    facts_iter_chunks,
    facts_read,
    facts_rebuild,
    facts_rebuild_if_time_zone_changed,
    facts_refresh,
)

__all__ = [
    "FACT_FIELDS",
    "STORED_FIELDS",
    "PendingChunk",
    "facts_apply_events",
    "facts_count",
    "facts_for_customers",
    "facts_for_pending",
    "facts_iter_chunks",
    "facts_read",
    "facts_rebuild",
    "facts_rebuild_if_time_zone_changed",
    "facts_refresh",
    "pending_clear",
    "pending_mark",
    "pending_take",
    "stale_pending_count",
]
