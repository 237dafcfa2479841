"""Synthetic venues, customers and events for demos and benchmarks.

Pure generation (numpy and the standard library only); `customer_intel.services.demo_data`
writes what this produces to the database.

    plan        what to generate: venues, sizes, period, seed
    behaviour   the behaviour model's numbers (classes of customers, prices, channels, rates)
    calendar    a venue's local days and their seasonality
    people      who the customers are and what they buy
    engagement  journeys, refunds, scans, browsing and email opens around the purchases
    chunks      a chunk of customers' events, drawn step by step
    targets     a chunk brought to an exact number of events (benchmark sizes)
"""

from customer_intel.demo.behaviour import (
    CAMPAIGNS,
    CATEGORIES,
    CHANNELS,
    DAY,
    EVENT_TYPES,
    PURCHASED,
    REFUNDED,
)
from customer_intel.demo.calendar import VenueCalendar, build_calendar
from customer_intel.demo.chunks import EventChunk, generate_chunk, iter_venue_chunks, utc
from customer_intel.demo.plan import (
    BENCH_VENUE_NAME,
    DEMO_VENUES,
    DemoPlan,
    PlanError,
    VenuePlan,
    plan_dataset,
)

__all__ = [
    "BENCH_VENUE_NAME",
    "CAMPAIGNS",
    "CATEGORIES",
    "CHANNELS",
    "DAY",
    "DEMO_VENUES",
    "EVENT_TYPES",
    "PURCHASED",
    "REFUNDED",
    "DemoPlan",
    "EventChunk",
    "PlanError",
    "VenueCalendar",
    "VenuePlan",
    "build_calendar",
    "generate_chunk",
    "iter_venue_chunks",
    "plan_dataset",
    "utc",
]
