"""The recompute engine: one engine for all customers, the changed ones, or one."""

from customer_intel.services.recompute.dispatch import queue_recompute
from customer_intel.services.recompute.runs import (
    ORPHAN_ERROR,
    compute_single_customer,
    rebuild_facts,
    run_recompute,
)

__all__ = [
    "ORPHAN_ERROR",
    "compute_single_customer",
    "queue_recompute",
    "rebuild_facts",
    "run_recompute",
]
