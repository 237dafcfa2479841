"""Per-customer facts: the event log aggregated into one `CustomerFacts` row per customer."""

from customer_intel.services.facts.store import (
    FACT_FIELDS,
    PendingChunk,
    facts_apply_events,
    facts_count,
    facts_for_customers,
    facts_for_pending,
    facts_iter_chunks,
    facts_read,
    facts_rebuild,
    facts_rebuild_if_time_zone_changed,
    facts_refresh,
    pending_clear,
    pending_take,
    stale_pending_count,
)

__all__ = [
    "FACT_FIELDS",
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
    "pending_take",
    "stale_pending_count",
]
