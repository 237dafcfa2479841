"""Writing synthetic demo and benchmark data (from `demo_generator`) into the database.

Events go in a chunk of customers at a time (`db.bulk.rows_insert`: COPY on PostgreSQL), one
transaction per venue. Like ingestion, every
customer written is marked pending in the same transaction, so the next recompute picks them
up even when this command does not run it.

Re-running is safe: demo venues are found again by name, a venue that already holds this
seed's events is left as it is, and a venue holding other events is refused (use `reset`)
rather than mixed with a second dataset. A venue's id is derived from the seed and its name,
so `reset` recreates it with the same id and curl lines printed by an earlier run stay valid.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from customer_intel import demo as generator
from customer_intel.db.bulk import rows_insert
from customer_intel.db.statistics import tables_analyze
from customer_intel.demo import DemoPlan, EventChunk, VenuePlan
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    PendingCustomer,
    RecomputeRun,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.venues import venue_create

DEMO_USERNAME = "demo"
# Demo venue ids are uuid5 names in this namespace: one seed, one id per venue name.
_DEMO_VENUE_NAMESPACE = uuid.UUID("5e0c1f1e-7d4a-4f43-9a57-3b0c2f7d9e10")
_EVENT_FIELDS = (
    "event_id",
    "customer",
    "type",
    "occurred_at",
    "amount",
    "quantity",
    "event_category",
    "channel",
    "campaign",
    "properties",
)
# Lookup tables indexed by the generator's codes; code -1 picks the trailing "".
_TYPE_NAMES = np.array(generator.EVENT_TYPES, dtype=object)
_CATEGORY_NAMES = np.array([*generator.CATEGORIES, ""], dtype=object)
_CHANNEL_NAMES = np.array([*generator.CHANNELS, ""], dtype=object)
_CAMPAIGN_NAMES = np.array([*generator.CAMPAIGNS, ""], dtype=object)

ProgressCallback = Callable[[str, int, int], None]
"""Called with (venue name, events just written, events expected or 0 when unknown)."""


class DemoDataConflict(Exception):
    """A demo venue already holds events from another dataset."""


@dataclass
class VenueResult:
    venue: Venue
    customers: int
    events_written: int
    skipped: bool
    sample_customer: str  # a synthetic raw id with purchases, safe to print
    run: RecomputeRun | None = None


@dataclass
class DemoDataResult:
    plan: DemoPlan
    venues: list[VenueResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events_written(self) -> int:
        return sum(v.events_written for v in self.venues)


def demo_data_create(
    *,
    plan: DemoPlan,
    reset: bool = False,
    progress: ProgressCallback | None = None,
) -> DemoDataResult:
    """Write the planned venues and events; see the module docstring for re-runs.

    With `reset`, the plan's venues (matched by name) are deleted first, with all their data.
    Raises DemoDataConflict for a venue with someone else's events.
    """
    started = time.monotonic()
    if reset:
        demo_venues_delete(names=[venue.name for venue in plan.venues])
    result = DemoDataResult(plan=plan)
    for venue_plan in plan.venues:
        result.venues.append(_venue_create(plan=plan, venue_plan=venue_plan, progress=progress))
    tables_analyze(tables=[CustomerEvent, CustomerFacts, PendingCustomer])
    result.seconds = time.monotonic() - started
    return result


def demo_venues_delete(*, names: list[str]) -> int:
    """Delete the venues with these names and everything that hangs off them."""
    with transaction.atomic():
        # The row lock waits for a load into one of these venues to commit, so its events are
        # visible, and deleted, here.
        venues = list(Venue.objects.select_for_update().filter(name__in=names))
        for venue in venues:
            # Events, facts and profiles have no dependents of their own, so the collector
            # removes them with one DELETE each rather than loading them.
            venue.delete()
    return len(venues)


def demo_user_provision(*, venues: list[Venue]) -> str:
    """The `demo` user (no password; cannot log in to the admin) with write access to
    `venues`, and its API token key."""
    user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    for venue in venues:
        VenueMembership.objects.update_or_create(
            user=user, venue=venue, defaults={"can_write": True}
        )
    return Token.objects.get_or_create(user=user)[0].key


def demo_venue_id(*, seed: int, name: str) -> uuid.UUID:
    """The id a demo venue of this name gets for this seed, whenever it is created."""
    return uuid.uuid5(_DEMO_VENUE_NAMESPACE, f"{seed}:{name}")


def _venue_for(plan: DemoPlan, venue_plan: VenuePlan) -> Venue:
    venue_id = demo_venue_id(seed=plan.seed, name=venue_plan.name)
    venue = (
        Venue.objects.filter(pk=venue_id).first()
        or Venue.objects.filter(name=venue_plan.name).order_by("created_at").first()
    )
    if venue is None:
        venue = venue_create(
            venue=Venue(
                id=venue_id,
                name=venue_plan.name,
                timezone=venue_plan.timezone,
                currency=venue_plan.currency,
            )
        )
    return venue


def _venue_create(
    *, plan: DemoPlan, venue_plan: VenuePlan, progress: ProgressCallback | None
) -> VenueResult:
    prefix = plan.event_id_prefix(venue_plan)
    calendar = generator.build_calendar(
        timezone=venue_plan.timezone, start=plan.start, end=plan.end
    )
    chunks = generator.iter_venue_chunks(plan=plan, venue=venue_plan, calendar=calendar)
    written, sample = 0, ""
    now = timezone.now()
    with transaction.atomic():
        # Locked for the whole load: a concurrent reset waits for it to commit, and a second
        # load of the same venue waits and then finds its events.
        venue = Venue.objects.select_for_update().get(pk=_venue_for(plan, venue_plan).pk)
        existing = CustomerEvent.objects.filter(venue=venue)
        if existing.exists():
            if existing.filter(event_id=f"{prefix}0").exists():
                sample = _sample_customer(plan, next(chunks))
                return VenueResult(venue, venue_plan.customers, 0, True, sample)
            raise DemoDataConflict(
                f"Venue {venue.name!r} ({venue.pk}) already holds other events; "
                "pass --reset to replace it."
            )
        for chunk in chunks:
            if not sample:
                sample = _sample_customer(plan, chunk)
            pseudonyms = _pseudonyms(plan, chunk)
            _chunk_write(venue, prefix, written, chunk, pseudonyms, now)
            written += len(chunk)
            if progress is not None:
                progress(venue.name, len(chunk), venue_plan.events or 0)
    return VenueResult(venue, venue_plan.customers, written, False, sample)


def _pseudonyms(plan: DemoPlan, chunk: EventChunk) -> np.ndarray:
    """The pseudonym of each customer of the chunk, indexed by customer number - first."""
    return np.array(
        [
            pseudonymize(plan.customer_raw_id(number))
            for number in range(chunk.first_customer, chunk.first_customer + chunk.customers)
        ],
        dtype=object,
    )


def _sample_customer(plan: DemoPlan, chunk: EventChunk) -> str:
    """The raw id of the chunk's most frequent buyer (synthetic, so printable)."""
    purchases = chunk.customer[chunk.type == generator.PURCHASED] - chunk.first_customer
    if purchases.size == 0:
        return plan.customer_raw_id(chunk.first_customer)
    counts = np.bincount(purchases, minlength=chunk.customers)
    return plan.customer_raw_id(chunk.first_customer + int(counts.argmax()))


def _chunk_write(
    venue: Venue,
    prefix: str,
    first_seq: int,
    chunk: EventChunk,
    pseudonyms: np.ndarray,
    now: datetime,
) -> None:
    """Insert the chunk's events and its customers' pending marks."""
    customers = pseudonyms[chunk.customer - chunk.first_customer].tolist()
    types = _TYPE_NAMES[chunk.type].tolist()
    amounts = [None if c < 0 else Decimal(c).scaleb(-2) for c in chunk.amount_cents.tolist()]
    categories = _CATEGORY_NAMES[chunk.category].tolist()
    channels = _CHANNEL_NAMES[chunk.channel].tolist()
    campaigns = _CAMPAIGN_NAMES[chunk.campaign].tolist()
    occurred = chunk.occurred_at.tolist()
    quantities = chunk.quantity.tolist()
    # Rows go in pseudonym order, so the (venue, customer, occurred_at) index, the biggest, is
    # filled in one ascending sweep per chunk rather than at random places.
    rank = np.empty(chunk.customers, dtype=np.int64)
    rank[np.argsort(pseudonyms.astype(str))] = np.arange(chunk.customers)
    order = np.lexsort((chunk.occurred_at, rank[chunk.customer - chunk.first_customer])).tolist()
    rows_insert(
        CustomerEvent,
        fields=_EVENT_FIELDS,
        rows=(
            (
                f"{prefix}{first_seq + i}",
                customers[i],
                types[i],
                datetime.fromtimestamp(occurred[i], tz=UTC),
                amounts[i],
                quantities[i],
                categories[i],
                channels[i],
                campaigns[i],
                {},
            )
            for i in order
        ),
        fixed={"venue_id": venue.pk, "received_at": now},
    )
    present = np.unique(chunk.customer - chunk.first_customer)
    rows_insert(
        PendingCustomer,
        fields=["customer"],
        rows=sorted((pseudonyms[i],) for i in present),
        fixed={"venue_id": venue.pk, "marked_at": now},
    )
