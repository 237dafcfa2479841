"""A chunk of consecutive customers' events, drawn step by step.

Customers first (their behaviour class, purchase rate, dropout, spend, favourite category,
arrival), then their purchases, then around each purchase its journey (campaign click, cart
add, page views), a refund now and then and the scan at the show; browsers' visits and
everyone's email opens last. Every step draws from the chunk's one numpy Generator, seeded by
(seed, venue slot, chunk), in this order: the same seed and end instant give the same events,
however the work is split across processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from customer_intel.demo.behaviour import (
    CHUNK_CUSTOMERS,
    PURCHASED,
)
from customer_intel.demo.calendar import VenueCalendar
from customer_intel.demo.engagement import (
    EventColumns,
    add_browsing,
    add_email_opens,
    add_journeys,
    add_refunds,
    add_scans,
)
from customer_intel.demo.people import draw_customers, draw_purchases
from customer_intel.demo.plan import DemoPlan, VenuePlan
from customer_intel.demo.targets import fit_to_target


@dataclass(frozen=True, slots=True)
class EventChunk:
    """A column-wise batch of events, sorted by time. -1 in amount, category, channel and
    campaign means "none"; customers are global customer numbers."""

    customer: np.ndarray  # int64
    type: np.ndarray  # int8 index into EVENT_TYPES
    occurred_at: np.ndarray  # int64 Unix seconds, UTC
    amount_cents: np.ndarray  # int64
    quantity: np.ndarray  # int64
    category: np.ndarray  # int8 index into CATEGORIES
    channel: np.ndarray  # int8 index into CHANNELS
    campaign: np.ndarray  # int8 index into CAMPAIGNS
    first_customer: int
    customers: int

    def __len__(self) -> int:
        return int(self.customer.shape[0])


def iter_venue_chunks(
    *, plan: DemoPlan, venue: VenuePlan, calendar: VenueCalendar
) -> Iterator[EventChunk]:
    """The venue's events, `CHUNK_CUSTOMERS` customers at a time."""
    for index, offset in enumerate(range(0, venue.customers, CHUNK_CUSTOMERS)):
        size = min(CHUNK_CUSTOMERS, venue.customers - offset)
        target = None
        if venue.events is not None:
            target = venue.events * (offset + size) // venue.customers - (
                venue.events * offset // venue.customers
            )
        yield generate_chunk(
            seed=plan.seed,
            slot=venue.slot,
            chunk_index=index,
            first_customer=venue.first_customer + offset,
            customers=size,
            price_factor=venue.price_factor,
            calendar=calendar,
            events_target=target,
        )


def generate_chunk(
    *,
    seed: int,
    slot: int,
    chunk_index: int,
    first_customer: int,
    customers: int,
    price_factor: float,
    calendar: VenueCalendar,
    events_target: int | None = None,
) -> EventChunk:
    """The events of `customers` consecutive customers.

    With `events_target` the chunk holds exactly that many events (at least one per customer):
    it is topped up with page views and email opens, or thinned of engagement events first.
    """
    rng = np.random.default_rng([seed, slot, chunk_index])
    people = draw_customers(rng, customers, calendar)
    purchases = draw_purchases(rng, people, calendar, price_factor)
    events = EventColumns()
    events.add(
        purchases.owner,
        PURCHASED,
        purchases.at,
        purchases.amount,
        purchases.quantity,
        purchases.category,
        purchases.channel,
        purchases.campaign,
    )
    add_journeys(rng, events, purchases)
    refunded, full = add_refunds(rng, events, purchases, calendar)
    add_scans(rng, events, purchases, calendar, refunded & full)
    add_browsing(rng, events, people, calendar)
    add_email_opens(rng, events, people, calendar)

    chunk = events.concatenated()
    if events_target is not None:
        chunk = fit_to_target(
            rng, chunk, customers, events_target, people.born, people.favourite, calendar
        )
    order = np.lexsort((chunk[0], chunk[2]))
    chunk = [column[order] for column in chunk]
    chunk[0] = chunk[0] + first_customer
    return EventChunk(*chunk, first_customer=first_customer, customers=customers)


def utc(epoch: int) -> datetime:
    """A Unix second as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)
