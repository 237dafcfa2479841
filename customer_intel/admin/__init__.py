"""The operators' admin, one module per part of the data; importing them registers the pages.

venues     venues, their thresholds and recompute state, memberships
events     the event log
caches     what the recompute writes: profiles, facts, pending marks, segment counts
runs       recompute runs and purchase-model fits
privacy    the audit trail of erasures, suppressions and retention purges
common     building blocks for tables of millions of rows and exact customer search
"""

from django.contrib import admin

from customer_intel.admin import (  # noqa: F401 - registers the pages
    caches,
    events,
    privacy,
    runs,
    venues,
)

# The tables are wide (a profile row has ten columns): the sidebar would push them past a
# 1400-pixel screen. The home page and the breadcrumbs still lead everywhere.
admin.site.enable_nav_sidebar = False
