"""Reading the purchase and spend models' inputs from the database.

The definitions live in `analytics.predictive.inputs`; this module only reads what they need:

- `fit_inputs_from_facts`: the fit's inputs grouped in SQL from `CustomerFacts`, so a venue of a
  million customers sends a few hundred thousand grouped rows, not a million (valid when the
  facts hold no purchase after as-of, the usual case);
- `day_log_from_events`: one row per customer and local purchase day from the event log, for a
  past as-of, a backtest's periods, and the holdout comparison of the model choice;
- `scoring_inputs`: the inputs of one chunk of facts rows, for scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Case, Count, F, FloatField, Sum, Value, When
from django.db.models.functions import Cast, Floor, Greatest

from customer_intel.analytics import rules
from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.predictive import gamma_gamma
from customer_intel.analytics.predictive.inputs import (
    CustomerInputs,
    PurchaseHistories,
    Triples,
    compress_customers,
    customer_inputs,
    histories_from_days,
    local_day_numbers,
    net_spent_cents,
)
from customer_intel.analytics.vocabulary import local_day_number
from customer_intel.db.expressions import LocalDayNumber
from customer_intel.models import CustomerEvent, CustomerFacts, EventType, Venue


@dataclass(frozen=True, slots=True)
class FitInputs:
    """A venue's fit inputs: purchase triples, Gamma-Gamma (n, m) pairs, where they came from."""

    triples: Triples
    spend_transactions: np.ndarray
    spend_average: np.ndarray
    spend_customers: np.ndarray
    source: str

    @property
    def customers(self) -> int:
        return int(np.rint(self.triples.weights.sum()))

    @property
    def first_purchase_weeks_ago(self) -> float:
        """How long before as-of the venue's earliest purchase was (0 without purchases)."""
        return float(self.triples.T.max()) if len(self.triples) else 0.0


def fit_inputs_from_facts(*, venue: Venue, as_of: datetime) -> FitInputs:
    """The fit's inputs from `CustomerFacts`, grouped in SQL (the facts must hold no purchase
    after `as_of`; see `facts_hold_later_purchases`).

    (x, t_x, T) come from groups of equal (first local purchase day, last local purchase day,
    purchase days); (n, repeat net cents) from groups of equal values of the same expressions
    `inputs.customer_inputs` and `inputs.repeat_net_cents` apply per customer.
    """
    tz = ZoneInfo(venue.timezone)
    buyers = CustomerFacts.objects.filter(
        venue=venue, purchase_days__gt=0, first_purchase_at__lte=as_of
    )
    groups = list(
        buyers.annotate(
            first_day=LocalDayNumber("first_purchase_at", tz=tz),
            last_day=LocalDayNumber("last_purchase_at", tz=tz),
        )
        .values("first_day", "last_day", "purchase_days")
        .annotate(customers=Count("id"))
        .order_by()
        .values_list("first_day", "last_day", "purchase_days", "customers")
    )
    size = len(groups)
    histories = PurchaseHistories(
        first_day=np.array([row[0] for row in groups], dtype=np.int64),
        last_day=np.array([row[1] for row in groups], dtype=np.int64),
        purchase_days=np.array([row[2] for row in groups], dtype=np.int64),
        gross_cents=np.zeros(size, dtype=np.int64),
        first_day_cents=np.zeros(size, dtype=np.int64),
        paid_days=np.zeros(size, dtype=np.int64),
    )
    inputs = customer_inputs(
        histories=histories,
        net_cents=np.zeros(size),
        as_of_day=local_day_number(as_of, tz),
    )
    weights = np.array([row[3] for row in groups], dtype=float)
    triples = compress_customers(inputs.x, inputs.t_x, inputs.T, weights)

    net = Greatest(F("purchase_cents") - F("refund_cents"), Value(0))
    as_float = {"output_field": FloatField()}
    repeat_cents = Floor(
        Cast(net, **as_float)
        * Cast(F("purchase_cents") - F("first_day_purchase_cents"), **as_float)
        / Cast(F("purchase_cents"), **as_float)
        + Value(0.5, **as_float)
    )
    spend = list(
        buyers.filter(purchase_cents__gt=0)
        .annotate(
            occasions=F("paid_purchase_days")
            - Case(When(first_day_purchase_cents__gt=0, then=Value(1)), default=Value(0)),
            repeat_cents=repeat_cents,
        )
        .filter(occasions__gte=1)
        .values("occasions", "repeat_cents")
        .annotate(customers=Count("id"))
        .order_by()
        .values_list("occasions", "repeat_cents", "customers")
    )
    occasions = np.array([row[0] for row in spend], dtype=float)
    cents = np.array([row[1] for row in spend], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = cents / 100.0 / occasions
    transactions, average, spend_customers = gamma_gamma.compress_values(
        occasions, average, np.array([row[2] for row in spend], dtype=float)
    )
    return FitInputs(triples, transactions, average, spend_customers, "customer_facts")


def facts_hold_later_purchases(*, venue: Venue, as_of: datetime) -> bool:
    """True when some customer's stored facts include a purchase after `as_of` (a past as-of):
    the fit must then read the event log up to as-of instead."""
    return CustomerFacts.objects.filter(venue=venue, last_purchase_at__gt=as_of).exists()


@dataclass(frozen=True, slots=True)
class DayLog:
    """Purchase days read from the event log: row i is customer `customer[i]` (an index into
    `pseudonyms`) buying on local day `day[i]` for `cents[i]` in `orders[i]` purchase events;
    refunds per customer."""

    pseudonyms: list[str]
    customer: np.ndarray
    day: np.ndarray
    cents: np.ndarray
    orders: np.ndarray
    refund_cents: np.ndarray

    @property
    def customers(self) -> int:
        return len(self.pseudonyms)

    def histories(self, *, upto_day: int | None = None) -> PurchaseHistories:
        return histories_from_days(
            customer=self.customer,
            day=self.day,
            cents=self.cents,
            customers=self.customers,
            upto_day=upto_day,
        )

    def inputs(self, *, as_of_day: int, with_refunds: bool = True) -> CustomerInputs:
        """Every customer's inputs as of `as_of_day` (their purchases up to it); refunds count
        only `with_refunds` (the log's refunds are those of its whole window)."""
        histories = self.histories(upto_day=as_of_day)
        refunds = self.refund_cents if with_refunds else np.zeros(self.customers, dtype=np.int64)
        return customer_inputs(
            histories=histories,
            net_cents=net_spent_cents(histories.gross_cents, refunds),
            as_of_day=as_of_day,
        )


def day_log_from_events(
    *,
    venue: Venue,
    end: datetime,
    start: datetime | None = None,
    pseudonym_below: str | None = None,
) -> DayLog:
    """Each customer's purchase cents per local day over the events in (start, end], and their
    refunds in the same window; with `pseudonym_below`, only customers whose pseudonym sorts
    before it (a random sample, read through the customer index)."""
    tz = ZoneInfo(venue.timezone)
    events = CustomerEvent.objects.filter(venue=venue, occurred_at__lte=end)
    if start is not None:
        events = events.filter(occurred_at__gt=start)
    if pseudonym_below is not None:
        events = events.filter(customer__lt=pseudonym_below)
    purchases = (
        events.filter(type=EventType.TICKET_PURCHASED)
        .annotate(day=LocalDayNumber("occurred_at", tz=tz))
        .values("customer", "day")
        .annotate(amount=Sum("amount"), orders=Count("id"))
        .order_by()
        .values_list("customer", "day", "amount", "orders")
    )
    position: dict[str, int] = {}
    customers, days, cents, orders = [], [], [], []
    for pseudonym, day, amount, count in purchases.iterator(chunk_size=20_000):
        customers.append(position.setdefault(pseudonym, len(position)))
        days.append(day)
        cents.append(_cents(amount))
        orders.append(count)
    refunds = np.zeros(len(position), dtype=np.int64)
    for pseudonym, amount in (
        events.filter(type=EventType.TICKET_REFUNDED)
        .values("customer")
        .annotate(amount=Sum("amount"))
        .order_by()
        .values_list("customer", "amount")
    ):
        # A refund without a purchase in the window is no one's spend here.
        index = position.get(pseudonym)
        if index is not None:
            refunds[index] = _cents(amount)
    return DayLog(
        pseudonyms=list(position),
        customer=np.asarray(customers, dtype=np.int64),
        day=np.asarray(days, dtype=np.int64),
        cents=np.asarray(cents, dtype=np.int64),
        orders=np.asarray(orders, dtype=np.int64),
        refund_cents=refunds,
    )


def _cents(amount: Decimal | None) -> int:
    """A summed amount (two decimals) as integer cents."""
    if amount is None:
        return 0
    return int((Decimal(amount) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def scoring_inputs(
    *, facts: Sequence[CustomerFactsRow], as_of: datetime, tz: ZoneInfo
) -> CustomerInputs:
    """The inputs of a chunk of facts rows aggregated up to `as_of` (x = -1 without purchase)."""
    size = len(facts)
    purchase_days = np.zeros(size, dtype=np.int64)
    gross = np.zeros(size, dtype=np.int64)
    net = np.zeros(size, dtype=np.int64)
    first_cents = np.zeros(size, dtype=np.int64)
    paid = np.zeros(size, dtype=np.int64)
    for i, row in enumerate(facts):
        if row.purchase_days <= 0 or row.first_purchase_at is None:
            continue
        purchase_days[i] = row.purchase_days
        gross[i] = row.purchase_cents
        net[i] = rules.total_spent_cents(row.purchase_cents, row.refund_cents)
        first_cents[i] = row.first_day_purchase_cents
        paid[i] = row.paid_purchase_days
    buyer = purchase_days > 0
    first_day = local_day_numbers([row.first_purchase_at for row in facts], tz)
    last_day = local_day_numbers([row.last_purchase_at for row in facts], tz)
    histories = PurchaseHistories(
        first_day=np.where(buyer, first_day, 0),
        last_day=np.where(buyer, last_day, 0),
        purchase_days=purchase_days,
        gross_cents=gross,
        first_day_cents=first_cents,
        paid_days=paid,
    )
    return customer_inputs(
        histories=histories, net_cents=net, as_of_day=local_day_number(as_of, tz)
    )
