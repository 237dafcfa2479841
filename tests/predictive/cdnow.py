"""The CDNOW sample as a day log, and the figures published for it.

Published maximum-likelihood estimates on the 39-week calibration period (2,357 customers):

- BG/NBD: Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative
  to the Pareto/NBD model", Marketing Science 24(2), p. 280: r = 0.243, alpha = 4.414,
  a = 0.793, b = 2.426, LL = -9582.4.
- Pareto/NBD: the same paper, and Fader & Hardie (2005), "A note on deriving the Pareto/NBD
  model and related expressions": r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669,
  LL = -9595.0.
- MBG/NBD: Batislam, Denizel & Filiztekin (2007) estimated it on other data; its CDNOW
  estimates r = 0.525, alpha = 6.183, a = 0.891, b = 1.614 are those of Platzer's BTYDplus
  (R), which the `lifetimes` test suite reproduces (`test_params_out_is_close_to_BTYDplus`).
  No log-likelihood is published with them: the test checks ours against the likelihood's
  plain formula at those estimates.
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
  base analysis", Journal of Marketing Research 42(4), and Fader & Hardie (2013), "The
  Gamma-Gamma model of monetary value": p = 6.25, q = 3.74, gamma = 15.44 (946 repeat buyers).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from customer_intel.analytics.predictive.inputs import EPOCH_ORDINAL

DATA = Path(__file__).parent / "data" / "cdnow_sample_days.csv"
CALIBRATION_END = date(1997, 9, 30)
CUSTOMERS = 2357
REPEAT_CUSTOMERS = 946
REPEAT_TRANSACTIONS = 2457

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL = -9582.4
PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PARETO_NBD_LL = -9595.0
MBGNBD = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


@dataclass(frozen=True)
class DayLog:
    customer: np.ndarray  # 0 .. customers - 1
    ids: list[int]  # the sample's customer numbers
    day: np.ndarray
    date: list[date]
    cents: np.ndarray
    transactions: np.ndarray


def load() -> DayLog:
    with DATA.open() as source:
        rows = list(csv.DictReader(source))
    ids = sorted({int(row["customer"]) for row in rows})
    position = {customer: i for i, customer in enumerate(ids)}
    dates = [
        date(int(row["date"][:4]), int(row["date"][4:6]), int(row["date"][6:])) for row in rows
    ]
    return DayLog(
        customer=np.array([position[int(row["customer"])] for row in rows]),
        ids=ids,
        day=np.array([day_number(d) for d in dates]),
        date=dates,
        cents=np.array([int(row["cents"]) for row in rows]),
        transactions=np.array([int(row["transactions"]) for row in rows]),
    )
