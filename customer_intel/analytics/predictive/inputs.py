"""The models' inputs, defined once: each customer's (x, t_x, T) and average repeat spend.

A purchase *occasion* is a local date (in the venue's time zone) with at least one purchase:
two orders on one evening are one occasion. Times are measured at the data's resolution, whole
days, and expressed in the models' unit, weeks, as fractions (3 days = 3/7 week):

| input | definition |
|---|---|
| x | repeat occasions: purchase days - 1 (-1 for a customer with no purchase) |
| t_x | weeks from the first purchase day to the last |
| T | weeks from the first purchase day to the as-of date |
| n | repeat occasions with a positive value (the first occasion and free ones left out) |
| m | the average net value of those n occasions |

Spend follows the Gamma-Gamma literature: the first occasion is not a repeat transaction, and an
occasion worth nothing is not a transaction of any value. Refunds cannot be tied to occasions,
so they reduce the repeat occasions' value in proportion: the net spend (the SPEC's
`totalSpent`, `rules.total_spent_cents`) times the repeat occasions' share of the gross.

The CDNOW summary the BG/NBD, Pareto/NBD and Gamma-Gamma papers were estimated on follows
exactly these definitions (tests/predictive/test_published_estimates.py rebuilds it from the
transaction log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from customer_intel.analytics import rules
from customer_intel.analytics.vocabulary import EPOCH_DATE

DAYS_PER_WEEK = 7.0
TIME_UNIT = "weeks"
SECONDS_PER_DAY = 86_400
EPOCH_ORDINAL = EPOCH_DATE.toordinal()
# Time-zone offsets change on quarter hours at the finest: one lookup per quarter hour.
_OFFSET_STEP_SECONDS = 900

_net_spent_cents = np.frompyfunc(rules.total_spent_cents, 2, 1)


@dataclass(frozen=True, slots=True)
class PurchaseHistories:
    """Per-customer purchase summaries at day resolution, as parallel integer arrays.

    Days are local day numbers (any fixed origin); a customer without a purchase has
    `purchase_days` 0 and the other fields 0.
    """

    first_day: np.ndarray
    last_day: np.ndarray
    purchase_days: np.ndarray
    gross_cents: np.ndarray
    first_day_cents: np.ndarray
    paid_days: np.ndarray


@dataclass(frozen=True, slots=True)
class CustomerInputs:
    """The models' per-customer inputs (see the module docstring), as float arrays."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    spend_transactions: np.ndarray
    spend_average: np.ndarray

    @property
    def buyers(self) -> np.ndarray:
        """True for customers with a purchase (x >= 0)."""
        return self.x >= 0


def net_spent_cents(gross_cents: np.ndarray, refund_cents: np.ndarray) -> np.ndarray:
    """`rules.total_spent_cents` for arrays: purchases minus refunds, never below zero."""
    gross = np.asarray(gross_cents, dtype=np.int64)
    refund = np.asarray(refund_cents, dtype=np.int64)
    if gross.size == 0:
        return np.zeros(0, dtype=np.int64)
    return _net_spent_cents(gross, refund).astype(np.int64)


def customer_inputs(
    *, histories: PurchaseHistories, net_cents: np.ndarray, as_of_day: int | np.ndarray
) -> CustomerInputs:
    """x, t_x, T (weeks) and the Gamma-Gamma (n, m) of each customer as of `as_of_day`.

    `histories` must hold only purchases on or before the as-of date; `net_cents` is each
    customer's net spend over the same purchases (`net_spent_cents`).
    """
    days = np.asarray(histories.purchase_days, dtype=float)
    buyer = days > 0
    first = np.asarray(histories.first_day, dtype=float)
    x = np.where(buyer, days - 1, -1.0)
    t_x = np.where(buyer, np.asarray(histories.last_day, dtype=float) - first, 0.0)
    T = np.where(buyer, np.asarray(as_of_day, dtype=float) - first, 0.0)
    if np.any(t_x > T) or np.any(t_x < 0):
        raise ValueError("purchases must lie between the first purchase day and the as-of day")

    gross = np.asarray(histories.gross_cents, dtype=float)
    first_cents = np.asarray(histories.first_day_cents, dtype=float)
    paid_repeat = np.asarray(histories.paid_days, dtype=float) - (first_cents > 0)
    paid_repeat = np.where(buyer, np.maximum(paid_repeat, 0.0), 0.0)
    cents = repeat_net_cents(
        net_cents=np.asarray(net_cents, dtype=float), gross_cents=gross, first_day_cents=first_cents
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(paid_repeat > 0, cents / 100.0 / paid_repeat, 0.0)
    return CustomerInputs(
        x=x,
        t_x=t_x / DAYS_PER_WEEK,
        T=T / DAYS_PER_WEEK,
        spend_transactions=paid_repeat,
        spend_average=average,
    )


def repeat_net_cents(
    *, net_cents: np.ndarray, gross_cents: np.ndarray, first_day_cents: np.ndarray
) -> np.ndarray:
    """The net value of the repeat occasions, to the cent (half up): the net spend times the
    repeat occasions' share of the gross, floor(net * (gross - first) / gross + 0.5).

    The database computes the same expression in the same order in double precision, so the
    grouped fit inputs equal these exactly.
    """
    net = np.asarray(net_cents, dtype=float)
    gross = np.asarray(gross_cents, dtype=float)
    first = np.asarray(first_day_cents, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gross > 0, np.floor(net * (gross - first) / gross + 0.5), 0.0)


def local_day_numbers(instants: Sequence[datetime | None], tz: ZoneInfo) -> np.ndarray:
    """`local_day_number` of many instants (-1 for None), with one offset lookup per quarter
    hour they fall in rather than one time-zone conversion each."""
    epoch = np.array(
        [np.nan if instant is None else instant.timestamp() for instant in instants], dtype=float
    )
    known = np.isfinite(epoch)
    days = np.full(len(epoch), -1, dtype=np.int64)
    if not known.any():
        return days
    seconds = epoch[known].astype(np.int64)
    steps, inverse = np.unique(seconds // _OFFSET_STEP_SECONDS, return_inverse=True)
    offsets = np.array(
        [
            datetime.fromtimestamp(int(step) * _OFFSET_STEP_SECONDS, tz=tz)
            .utcoffset()
            .total_seconds()  # type: ignore[union-attr]
            for step in steps
        ],
        dtype=np.int64,
    )
    days[known] = (seconds + offsets[inverse.ravel()]) // SECONDS_PER_DAY
    return days


def histories_from_days(
    *,
    customer: np.ndarray,
    day: np.ndarray,
    cents: np.ndarray,
    customers: int,
    upto_day: int | None = None,
) -> PurchaseHistories:
    """Purchase histories from a day log: one row per (customer, local day) with the day's
    purchase cents, `customer` an integer code in [0, customers).

    Rows after `upto_day` are left out (a calibration period, a past as-of).
    """
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    cents = np.asarray(cents, dtype=np.int64)
    if upto_day is not None:
        kept = day <= upto_day
        customer, day, cents = customer[kept], day[kept], cents[kept]
    order = np.lexsort((day, customer))
    customer, day, cents = customer[order], day[order], cents[order]
    first_day = np.zeros(customers, dtype=np.int64)
    last_day = np.zeros(customers, dtype=np.int64)
    first_cents = np.zeros(customers, dtype=np.int64)
    if customer.size:
        starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
        ends = np.r_[starts[1:], customer.size] - 1
        owners = customer[starts]
        first_day[owners] = day[starts]
        last_day[owners] = day[ends]
        first_cents[owners] = cents[starts]
    return PurchaseHistories(
        first_day=first_day,
        last_day=last_day,
        purchase_days=np.bincount(customer, minlength=customers),
        gross_cents=np.bincount(customer, weights=cents, minlength=customers).astype(np.int64),
        first_day_cents=first_cents,
        paid_days=np.bincount(customer[cents > 0], minlength=customers),
    )


def days_between(
    *, customer: np.ndarray, day: np.ndarray, customers: int, after_day: int, upto_day: int
) -> np.ndarray:
    """Each customer's purchase days in (after_day, upto_day] from a day log: a holdout."""
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    inside = (day > after_day) & (day <= upto_day)
    return np.bincount(customer[inside], minlength=customers).astype(float)


@dataclass(frozen=True, slots=True)
class Triples:
    """Unique (x, t_x, T) rows of repeat-purchase data with the number of customers on each."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


def compress_customers(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None
) -> Triples:
    """Unique (x, t_x, T) triples, exactly as given (no rounding), with summed weights.

    At day resolution a million customers with three years of history share about half a
    million triples, but only tens of thousands of (x, t) pairs, which is what the fits'
    expensive terms depend on (see `Grouping`).
    """
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    weights = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    if len(x) == 0:
        empty = np.zeros(0)
        return Triples(empty, empty, empty, empty)
    _, x_code = np.unique(x, return_inverse=True)
    times, time_code = np.unique(np.concatenate([t_x, T]), return_inverse=True)
    span = len(times)
    key = (x_code * span + time_code[: len(x)]) * span + time_code[len(x) :]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    counts = np.bincount(inverse, weights=weights)
    return Triples(x[first], t_x[first], T[first], counts)


class Grouping:
    """The distinct values the likelihood's expensive terms depend on, and where each row's are.

    Terms of x alone (Gamma and digamma functions) are computed once per distinct x, terms of
    one time once per distinct time, terms of (x, time) once per distinct pair; rows gather them.
    """

    def __init__(self, triples: Triples) -> None:
        self.triples = triples
        self.x_values, self.x_index = np.unique(triples.x, return_inverse=True)
        both = np.concatenate([triples.t_x, triples.T])
        self.times, time_index = np.unique(both, return_inverse=True)
        size = len(triples)
        self.t_x_index, self.T_index = time_index[:size], time_index[size:]
        pair_key = np.concatenate([self.x_index, self.x_index]) * len(self.times) + time_index
        pairs, pair_index = np.unique(pair_key, return_inverse=True)
        self.pair_x = self.x_values[pairs // len(self.times)]
        self.pair_t = self.times[pairs % len(self.times)]
        self.t_x_pair, self.T_pair = pair_index[:size], pair_index[size:]
        total = float(triples.weights.sum())
        self.total = total
        self.share = triples.weights / total if total > 0 else triples.weights
