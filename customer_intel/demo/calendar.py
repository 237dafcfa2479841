"""A venue's calendar: its local days, their seasonal weights, and instants drawn on them.

Purchases arrive in "operational time" that the calendar stretches into real days, so weekends
and holiday months get more of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from customer_intel.demo.behaviour import MONTH_WEIGHT, WEEKDAY_WEIGHT


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


def times_on_days(
    rng: np.random.Generator, calendar: VenueCalendar, days: np.ndarray, hours: np.ndarray
) -> np.ndarray:
    """Unix seconds at a random minute of the given local hour of the given local day."""
    return calendar.midnight_utc[days] + hours * 3600 + rng.integers(0, 3600, size=days.shape)


def random_times_after(
    rng: np.random.Generator, calendar: VenueCalendar, operational_from: np.ndarray
) -> np.ndarray:
    """Daytime instants drawn uniformly from each given operational day to the end."""
    horizon = calendar.operational_days
    when = operational_from + rng.random(operational_from.shape) * (horizon - operational_from)
    days = calendar.day_of(np.minimum(when, horizon - 1e-9))
    at = times_on_days(rng, calendar, days, rng.integers(7, 23, days.shape))
    return np.minimum(at, calendar.end_epoch - rng.integers(0, 3600, days.shape))
