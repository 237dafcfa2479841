"""The recompute engine: one engine for all customers, the changed ones, or one.

runs         a run of a venue: locked, recorded, one transaction
strategies   what a full and an incremental run do, chunk by chunk
rows         profile rows from facts (the pure rules and the purchase model)
profiles     the profile table's row layout, and writing it
snapshot     the venue's segment counts, kept by every run
single       one customer's profile on demand (a read path; no run)
dispatch     runs queued on the broker and claimed by workers; the beat ticks
"""

from customer_intel.services.recompute.dispatch import queue_recompute
from customer_intel.services.recompute.runs import (
    ORPHAN_ERROR,
    AsOfInFuture,
    as_of_refusal,
    rebuild_facts,
    run_recompute,
)
from customer_intel.services.recompute.single import compute_single_customer

__all__ = [
    "ORPHAN_ERROR",
    "AsOfInFuture",
    "as_of_refusal",
    "compute_single_customer",
    "queue_recompute",
    "rebuild_facts",
    "run_recompute",
]
