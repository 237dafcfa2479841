"""What to generate: which venues, how many customers and events, over which period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from customer_intel.demo.behaviour import YEAR_DAYS


@dataclass(frozen=True, slots=True)
class VenuePreset:
    name: str
    timezone: str
    currency: str
    price_factor: float
    customer_share: float


DEMO_VENUES = (
    VenuePreset("Harbour Hall", "America/New_York", "USD", 1.0, 0.45),
    VenuePreset("Riverside Playhouse", "Europe/London", "GBP", 0.8, 0.32),
    VenuePreset("Southbank Arena", "Australia/Sydney", "AUD", 1.5, 0.23),
    VenuePreset("Lakeside Pavilion", "America/Chicago", "USD", 1.0, 0.20),
    VenuePreset("Canal Street Theatre", "Europe/Amsterdam", "EUR", 0.9, 0.20),
)
DEMO_CUSTOMERS = 3_200
BENCH_VENUE_NAME = "Bench Arena"
_BENCH_TIMEZONES = (("America/New_York", "USD"), ("Europe/London", "GBP"), ("Asia/Tokyo", "JPY"))


@dataclass(frozen=True, slots=True)
class VenuePlan:
    """One venue to generate: who it is, how many customers, and (bench size) how many events."""

    slot: int
    name: str
    timezone: str
    currency: str
    price_factor: float
    customers: int
    first_customer: int  # raw customer ids are numbered across venues from here
    events: int | None  # exact number of events, or None for what the model produces


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """The whole dataset: which venues, over which period, from which seed."""

    kind: str  # "demo" (realistic default) or "bench" (exact benchmark sizes)
    seed: int
    start: datetime
    end: datetime
    venues: tuple[VenuePlan, ...]

    def customer_raw_id(self, number: int) -> str:
        """The synthetic raw id of customer `number` (what a client would send)."""
        return f"{self.kind}-customer-{number}"

    def event_id_prefix(self, venue: VenuePlan) -> str:
        """Event ids are this prefix plus a sequence number within the venue."""
        return f"{self.kind}-{self.seed}-{venue.slot}-"


class PlanError(ValueError):
    """Sizes or options that cannot make a dataset; the message names the option."""


def plan_dataset(
    *,
    seed: int,
    end: datetime,
    years: int = 3,
    customers: int | None = None,
    events: int | None = None,
    venues: int | None = None,
) -> DemoPlan:
    """The dataset to generate.

    Without sizes: the realistic demo (a few thousand customers over up to five venues in
    different time zones). With `customers` and/or `events`: benchmark sizes, exactly that many
    customers and events (nine events per customer when only one is given), one big venue
    named "Bench Arena" plus `venues - 1` small ones.
    """
    if end.tzinfo is None:
        raise PlanError("end: must be timezone-aware.")
    if not 1 <= years <= 20:
        raise PlanError("years: must be between 1 and 20.")
    if seed < 0:
        raise PlanError("seed: must be zero or positive.")
    start = end - timedelta(days=round(YEAR_DAYS * years))
    if customers is None and events is None:
        count = 3 if venues is None else venues
        if not 1 <= count <= len(DEMO_VENUES):
            raise PlanError(f"venues: the demo has between 1 and {len(DEMO_VENUES)} venues.")
        presets = DEMO_VENUES[:count]
        total_share = sum(p.customer_share for p in presets)
        sizes = [round(DEMO_CUSTOMERS * p.customer_share / total_share) for p in presets]
        plans, first = [], 1
        for slot, (preset, size) in enumerate(zip(presets, sizes, strict=True)):
            plans.append(
                VenuePlan(
                    slot,
                    preset.name,
                    preset.timezone,
                    preset.currency,
                    preset.price_factor,
                    size,
                    first,
                    None,
                )
            )
            first += size
        return DemoPlan("demo", seed, start, end, tuple(plans))

    if customers is None:
        customers = max(1, events // 9)  # type: ignore[operator]
    if events is None:
        events = customers * 9
    count = 1 if venues is None else venues
    if customers < 1:
        raise PlanError("customers: must be at least 1.")
    if events < customers:
        raise PlanError("events: every customer has at least one event, so events >= customers.")
    if count < 1 or count > 50:
        raise PlanError("venues: must be between 1 and 50.")
    small = max(1, customers // 100)
    big = customers - small * (count - 1)
    if big < small:
        raise PlanError("venues: too many venues for so few customers.")
    sizes = [big] + [small] * (count - 1)
    plans, first, assigned_events = [], 1, 0
    for slot, size in enumerate(sizes):
        # Events follow customers proportionally; floors of the running share keep the total.
        upto = events * (first - 1 + size) // customers
        venue_events = upto - assigned_events
        assigned_events = upto
        tz, currency = _BENCH_TIMEZONES[slot % len(_BENCH_TIMEZONES)]
        name = BENCH_VENUE_NAME if slot == 0 else f"Bench Annex {slot}"
        plans.append(VenuePlan(slot, name, tz, currency, 1.0, size, first, venue_events))
        first += size
    return DemoPlan("bench", seed, start, end, tuple(plans))
