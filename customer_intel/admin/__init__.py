"""The operators' admin, one module per part of the data; importing them registers the pages.

venues     venues, their thresholds and recompute state, memberships
events     the event log
caches     what the recompute writes: profiles, facts, pending marks, segment counts
runs       recompute runs and purchase-model fits
privacy    the audit trail of erasures, suppressions and retention purges
common     building blocks for tables of millions of rows and exact customer search
"""

from customer_intel.admin import (  # noqa: F401 - registers the pages
    caches,
    events,
    privacy,
    runs,
    venues,
)
