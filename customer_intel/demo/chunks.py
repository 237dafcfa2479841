"""Synthetic venues, customers and events for demos and benchmarks.

Pure generation (numpy and the standard library only); `customer_intel.services.demo_data`
writes what this produces to the database.

The model. Each customer belongs to a behaviour class (heavy buyer, regular, occasional,
browser). Buyers follow a BG/NBD process: a personal purchase rate λ ~ Gamma and, after each
purchase, a personal dropout probability p ~ Beta, so repeat purchases, lapses and churn have
the structure a probabilistic model fitted later expects. Order values scatter (Gamma) around a
personal mean that is itself Gamma-distributed across customers (Gamma-Gamma). Purchases arrive
in "operational time" that each venue's calendar stretches into real days, so weekends and
holiday months get more of them. Around each purchase come its journey (page views, a cart add,
sometimes a campaign click), the scan at the show, and now and then a refund. Browsers only look
and open emails, and never buy.

Everything is drawn from numpy Generators seeded by (seed, venue slot, chunk), so the same seed
and end instant give the same events, however the work is split across processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from customer_intel.analytics.vocabulary import EventType

# Event types by index, in the vocabulary's order (the indices below name them).
EVENT_TYPES: tuple[str, ...] = tuple(event_type.value for event_type in EventType)
PURCHASED, REFUNDED, SCANNED, VIEWED, CART_ADDED, CLICKED, OPENED = range(len(EVENT_TYPES))

CATEGORIES = ("concert", "comedy", "theatre", "sports", "family", "festival")
CATEGORY_POPULARITY = np.array([0.32, 0.14, 0.16, 0.18, 0.12, 0.08])
# Mean price of one ticket in the venue's currency units before its price factor, in cents.
TICKET_PRICE_CENTS = np.array([6500.0, 3500.0, 7000.0, 8500.0, 3000.0, 11000.0])
QUANTITY_WEIGHTS = np.array([0.34, 0.36, 0.11, 0.11, 0.05, 0.03])  # 1..6 tickets per order

CHANNELS = ("email", "social", "search", "direct")
EMAIL, SOCIAL, SEARCH, DIRECT = range(len(CHANNELS))
CAMPAIGNS = (
    "weekly-newsletter",
    "presale-alert",
    "members-early-access",
    "social-lineup-announce",
    "social-retargeting",
    "search-brand",
    "search-tickets-near-me",
)
# Campaigns by the channel that carries them: (first index in CAMPAIGNS, how many).
_CAMPAIGN_SPAN = np.array([[0, 3], [3, 2], [5, 2]])
CLICK_CHANNEL_WEIGHTS = np.array([0.45, 0.35, 0.20])  # email, social, search
UNPROMPTED_CHANNEL_WEIGHTS = np.array([0.10, 0.15, 0.20, 0.55])  # email, social, search, direct

# More purchases at the end of the week and in holiday months (Monday first, January first).
WEEKDAY_WEIGHT = np.array([0.70, 0.70, 0.80, 0.95, 1.35, 1.55, 1.00])
MONTH_WEIGHT = np.array([0.85, 0.85, 0.95, 1.00, 1.00, 1.10, 1.20, 1.15, 0.95, 1.00, 1.15, 1.45])
# Local hour at which purchases happen (index = hour): mostly evenings, some lunchtimes.
_HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3.5, 4,
                 5, 5, 4, 4, 4.5, 5.5, 7, 8, 8.5, 7.5, 5, 2.5)  # fmt: skip
PURCHASE_HOUR_WEIGHTS = np.array(_HOUR_WEIGHTS) / sum(_HOUR_WEIGHTS)

PURCHASE_CAP = 120  # no customer buys more often than this over the history
REFUND_RATE = 0.03
FULL_REFUND_SHARE = 0.7
SCAN_RATE = 0.8
CLICK_RATE = 0.35
CART_RATE = 0.65
ATTRIBUTION_WINDOW_DAYS = 29  # a click this close before a purchase is its campaign
DAY = 86_400
YEAR_DAYS = 365.25

CHUNK_CUSTOMERS = 50_000


@dataclass(frozen=True, slots=True)
class Archetype:
    """A behaviour class: purchase rate λ ~ Gamma(shape, mean/shape) per year, dropout
    p ~ Beta(a, b) after each purchase, a spend multiplier, and email opens per year."""

    name: str
    share: float
    rate_shape: float
    rate_mean: float
    dropout_a: float
    dropout_b: float
    spend_factor: float
    opens_per_year: float


ARCHETYPES = (
    Archetype("heavy", 0.04, 6.0, 10.0, 1.0, 45.0, 1.5, 3.0),
    Archetype("regular", 0.20, 4.0, 4.0, 2.0, 18.0, 1.0, 1.5),
    Archetype("occasional", 0.52, 2.0, 1.1, 2.0, 3.0, 0.9, 0.6),
    Archetype("browser", 0.24, 1.0, 0.0, 1.0, 1.0, 1.0, 0.5),
)
BROWSER = len(ARCHETYPES) - 1


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


@dataclass(frozen=True, slots=True)
class VenueCalendar:
    """A venue's local days: their midnights in UTC and their cumulative purchase intensity.

    `cumulative[d]` is the operational time (in average days) at the start of local day d, so
    a process running at a constant rate in operational time has the calendar's seasonality.
    """

    midnight_utc: np.ndarray  # int64 Unix seconds, one per local day
    cumulative: np.ndarray  # float, one more than days
    end_epoch: int

    @property
    def operational_days(self) -> float:
        return float(self.cumulative[-1])

    def day_of(self, operational: np.ndarray) -> np.ndarray:
        days = np.searchsorted(self.cumulative, operational, side="right") - 1
        return np.clip(days, 0, len(self.midnight_utc) - 1)


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


def build_calendar(*, timezone: str, start: datetime, end: datetime) -> VenueCalendar:
    """The venue's local days from `start` to `end` with their seasonal weights."""
    zone = ZoneInfo(timezone)
    first_day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    count = (last_day - first_day).days + 1
    midnights = np.empty(count, dtype=np.int64)
    weights = np.empty(count)
    for offset in range(count):
        day = first_day + timedelta(days=offset)
        midnights[offset] = int(datetime.combine(day, time(), tzinfo=zone).timestamp())
        weights[offset] = WEEKDAY_WEIGHT[day.weekday()] * MONTH_WEIGHT[day.month - 1]
    cumulative = np.concatenate([[0.0], np.cumsum(weights)]) / weights.mean()
    return VenueCalendar(midnights, cumulative, int(end.timestamp()))


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


def _positions_in_groups(counts: np.ndarray) -> np.ndarray:
    """For np.repeat(groups, counts): each element's position within its group."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def _times_on_days(
    rng: np.random.Generator, calendar: VenueCalendar, days: np.ndarray, hours: np.ndarray
) -> np.ndarray:
    """Unix seconds at a random minute of the given local hour of the given local day."""
    return calendar.midnight_utc[days] + hours * 3600 + rng.integers(0, 3600, size=days.shape)


def _pick_campaigns(rng: np.random.Generator, channels: np.ndarray) -> np.ndarray:
    spans = _CAMPAIGN_SPAN[channels]
    return (spans[:, 0] + (rng.random(channels.shape) * spans[:, 1]).astype(np.int64)).astype(
        np.int8
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
    n = customers
    horizon = calendar.operational_days
    end_epoch = calendar.end_epoch

    archetype = rng.choice(len(ARCHETYPES), size=n, p=[a.share for a in ARCHETYPES])
    rate_shape = np.array([a.rate_shape for a in ARCHETYPES])[archetype]
    rate_mean = np.array([a.rate_mean for a in ARCHETYPES])[archetype]
    rate = rng.gamma(rate_shape, rate_mean / rate_shape)  # purchases per year
    dropout = rng.beta(
        np.array([a.dropout_a for a in ARCHETYPES])[archetype],
        np.array([a.dropout_b for a in ARCHETYPES])[archetype],
    )
    spend_mean = (
        rng.gamma(3.0, 1 / 3.0, size=n) * np.array([a.spend_factor for a in ARCHETYPES])[archetype]
    )
    favourite = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_POPULARITY)
    born = rng.uniform(0.0, horizon, size=n)  # operational day of the first visit

    # --- purchases: BG/NBD. The first is at the customer's arrival; after each one the customer
    # leaves with probability p; gaps are exponential at the personal rate.
    buyer = archetype != BROWSER
    purchases_before_dropout = np.where(
        buyer, np.minimum(rng.geometric(np.clip(dropout, 1e-6, 1.0)), PURCHASE_CAP), 0
    )
    owner = np.repeat(np.arange(n), purchases_before_dropout)
    position = _positions_in_groups(purchases_before_dropout)
    gaps = rng.exponential(1.0, size=owner.shape) * YEAR_DAYS / np.maximum(rate[owner], 1e-3)
    gaps[position == 0] = 0.0
    running = np.cumsum(gaps)
    group_base = running[position == 0]
    operational = born[owner] + running - np.repeat(group_base, purchases_before_dropout[buyer])
    is_first = position == 0
    keep = operational < horizon
    owner, operational, is_first = owner[keep], operational[keep], is_first[keep]
    day = calendar.day_of(operational)
    hour = rng.choice(24, size=owner.shape, p=PURCHASE_HOUR_WEIGHTS)
    at = _times_on_days(rng, calendar, day, hour)
    late = at > end_epoch
    # A customer's first purchase on the last day is pulled back before the end; later ones
    # simply have not happened yet.
    at = np.where(late & is_first, end_epoch - rng.integers(60, 3600, size=at.shape), at)
    keep = ~late | is_first
    owner, at, day = owner[keep], at[keep], day[keep]
    p_count = owner.shape[0]

    category = np.where(
        rng.random(p_count) < 0.55,
        favourite[owner],
        rng.choice(len(CATEGORIES), size=p_count, p=CATEGORY_POPULARITY),
    ).astype(np.int8)
    quantity = rng.choice(6, size=p_count, p=QUANTITY_WEIGHTS) + 1
    ticket_cents = (
        TICKET_PRICE_CENTS[category]
        * price_factor
        * spend_mean[owner]
        * rng.gamma(6.0, 1 / 6.0, p_count)
    )
    amount = np.maximum(np.rint(ticket_cents * quantity), 300).astype(np.int64)

    clicked = rng.random(p_count) < CLICK_RATE
    click_channel = rng.choice(3, size=p_count, p=CLICK_CHANNEL_WEIGHTS)
    click_campaign = _pick_campaigns(rng, click_channel)
    channel = np.where(
        clicked, click_channel, rng.choice(4, size=p_count, p=UNPROMPTED_CHANNEL_WEIGHTS)
    ).astype(np.int8)
    campaign = np.where(clicked, click_campaign, -1).astype(np.int8)

    columns: list[tuple[np.ndarray, ...]] = []

    def add(
        who: np.ndarray,
        kind: int,
        when: np.ndarray,
        cents: np.ndarray | int = -1,
        qty: np.ndarray | int = 1,
        cat: np.ndarray | int = -1,
        chan: np.ndarray | int = -1,
        camp: np.ndarray | int = -1,
    ) -> None:
        size = who.shape[0]
        columns.append(
            (
                who.astype(np.int64),
                np.full(size, kind, dtype=np.int8),
                when.astype(np.int64),
                np.broadcast_to(np.asarray(cents, dtype=np.int64), (size,)),
                np.broadcast_to(np.asarray(qty, dtype=np.int64), (size,)),
                np.broadcast_to(np.asarray(cat, dtype=np.int8), (size,)),
                np.broadcast_to(np.asarray(chan, dtype=np.int8), (size,)),
                np.broadcast_to(np.asarray(camp, dtype=np.int8), (size,)),
            )
        )

    add(owner, PURCHASED, at, amount, quantity, category, channel, campaign)

    # The journey before each purchase.
    lead = np.clip(rng.exponential(2 * DAY, p_count), 300, ATTRIBUTION_WINDOW_DAYS * DAY)
    m = clicked
    add(
        owner[m],
        CLICKED,
        at[m] - lead[m].astype(np.int64),
        -1,
        1,
        category[m],
        click_channel[m],
        click_campaign[m],
    )
    m = rng.random(p_count) < CART_RATE
    add(
        owner[m],
        CART_ADDED,
        at[m] - rng.integers(120, 3 * 3600, int(m.sum())),
        -1,
        quantity[m],
        category[m],
        channel[m],
    )
    views = rng.poisson(0.8, p_count) + 1
    view_of = np.repeat(np.arange(p_count), views)
    add(
        owner[view_of],
        VIEWED,
        at[view_of] - rng.integers(300, 7 * DAY, view_of.shape[0]),
        -1,
        1,
        category[view_of],
        channel[view_of],
    )

    # Refunds: a few percent, of the whole order or of some of its tickets.
    refunded = rng.random(p_count) < REFUND_RATE
    full = rng.random(p_count) < FULL_REFUND_SHARE
    refund_quantity = np.where(full, quantity, rng.integers(1, quantity + 1))
    refund_amount = np.where(full, amount, np.rint(amount * refund_quantity / quantity)).astype(
        np.int64
    )
    refund_at = at + rng.integers(3600, 14 * DAY, p_count)
    m = refunded & (refund_at <= end_epoch)
    add(
        owner[m],
        REFUNDED,
        refund_at[m],
        refund_amount[m],
        refund_quantity[m],
        category[m],
        channel[m],
    )

    # Scans at the show, a few days to two months after buying, in the evening.
    show_day = day + rng.integers(1, 61, p_count)
    show_day_ok = show_day < calendar.midnight_utc.shape[0]
    scan_at = np.where(
        show_day_ok,
        _times_on_days(
            rng,
            calendar,
            np.minimum(show_day, calendar.midnight_utc.shape[0] - 1),
            rng.integers(18, 21, p_count),
        ),
        end_epoch + 1,
    )
    m = ~(refunded & full) & (rng.random(p_count) < SCAN_RATE) & (scan_at <= end_epoch)
    add(owner[m], SCANNED, scan_at[m], -1, quantity[m], category[m])

    # Browsers look around for a while after arriving and never buy.
    browsers = np.flatnonzero(~buyer)
    visits = rng.poisson(2.0, browsers.shape[0]) + 1
    visitor = np.repeat(browsers, visits)
    visit_day = calendar.day_of(
        np.minimum(born[visitor] + rng.uniform(0, 60, visitor.shape[0]), horizon - 1e-9)
    )
    visit_at = np.minimum(
        _times_on_days(rng, calendar, visit_day, rng.integers(8, 24, visitor.shape[0])),
        end_epoch - rng.integers(0, 3600, visitor.shape[0]),
    )
    add(
        visitor,
        VIEWED,
        visit_at,
        -1,
        1,
        favourite[visitor],
        rng.choice(4, size=visitor.shape[0], p=UNPROMPTED_CHANNEL_WEIGHTS),
    )

    # Email opens while subscribed (from arrival on).
    opens_rate = np.array([a.opens_per_year for a in ARCHETYPES])[archetype]
    opens = rng.poisson(opens_rate * (horizon - born) / YEAR_DAYS)
    opener = np.repeat(np.arange(n), opens)
    add(
        opener,
        OPENED,
        _random_times_after(rng, calendar, born[opener]),
        -1,
        1,
        -1,
        EMAIL,
        _pick_campaigns(rng, np.zeros(opener.shape[0], dtype=np.int64)),
    )

    chunk = [np.concatenate(parts) for parts in zip(*columns, strict=True)]
    if events_target is not None:
        chunk = _fit_to_target(rng, chunk, n, events_target, born, favourite, calendar)

    order = np.lexsort((chunk[0], chunk[2]))
    chunk = [column[order] for column in chunk]
    chunk[0] = chunk[0] + first_customer
    return EventChunk(*chunk, first_customer=first_customer, customers=n)


def _random_times_after(
    rng: np.random.Generator, calendar: VenueCalendar, operational_from: np.ndarray
) -> np.ndarray:
    """Daytime instants drawn uniformly from each given operational day to the end."""
    horizon = calendar.operational_days
    when = operational_from + rng.random(operational_from.shape) * (horizon - operational_from)
    days = calendar.day_of(np.minimum(when, horizon - 1e-9))
    at = _times_on_days(rng, calendar, days, rng.integers(7, 23, days.shape))
    return np.minimum(at, calendar.end_epoch - rng.integers(0, 3600, days.shape))


def _fit_to_target(
    rng: np.random.Generator,
    chunk: list[np.ndarray],
    customers: int,
    target: int,
    born: np.ndarray,
    favourite: np.ndarray,
    calendar: VenueCalendar,
) -> list[np.ndarray]:
    """Exactly `target` events: top up with page views and email opens weighted towards buyers,
    or drop engagement events first, then scans, refunds and purchases, never a customer's
    first event (so every customer keeps at least one)."""
    if target < customers:
        raise PlanError("events: every customer has at least one event, so events >= customers.")
    who, kind = chunk[0], chunk[1]
    total = who.shape[0]
    if total > target:
        first_event = np.lexsort((chunk[2], who))
        group_start = np.ones(total, dtype=bool)
        group_start[1:] = who[first_event][1:] != who[first_event][:-1]
        priority = np.select(
            [kind == PURCHASED, kind == REFUNDED, kind == SCANNED], [0, 1, 2], default=3
        )
        priority[first_event[group_start]] = -1
        order = np.lexsort((rng.random(total), -priority))
        keep = np.ones(total, dtype=bool)
        keep[order[: total - target]] = False
        return [column[keep] for column in chunk]
    missing = target - total
    if missing == 0:
        return chunk
    purchases = np.bincount(who[kind == PURCHASED], minlength=customers)
    weight = (1.0 + purchases) / (1.0 + purchases).sum()
    extra_who = rng.choice(customers, size=missing, p=weight)
    is_view = rng.random(missing) < 0.75
    extra = [
        extra_who.astype(np.int64),
        np.where(is_view, VIEWED, OPENED).astype(np.int8),
        _random_times_after(rng, calendar, born[extra_who]),
        np.full(missing, -1, dtype=np.int64),
        np.ones(missing, dtype=np.int64),
        np.where(is_view, favourite[extra_who], -1).astype(np.int8),
        np.where(is_view, DIRECT, EMAIL).astype(np.int8),
        np.where(is_view, -1, _pick_campaigns(rng, np.zeros(missing, dtype=np.int64))).astype(
            np.int8
        ),
    ]
    return [np.concatenate([column, more]) for column, more in zip(chunk, extra, strict=True)]


def utc(epoch: int) -> datetime:
    """A Unix second as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)
