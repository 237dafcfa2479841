"""2F1(1, B; C; z) by its series, with the derivatives of its logarithm, against 60-digit
decimal arithmetic."""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pytest

from customer_intel.analytics.predictive.hypergeometric import log_hyp2f1_unit


def _reference(b: float, c: float, z: float) -> tuple[float, float, float, float]:
    """log F and its derivatives in b, c and z from the plain series in 60 digits."""
    getcontext().prec = 60
    b_, c_, z_ = Decimal(repr(b)), Decimal(repr(c)), Decimal(repr(z))
    term, total = Decimal(1), Decimal(1)
    d_b = d_c = d_z = Decimal(0)
    sum_b = sum_c = Decimal(0)
    n = 0
    while n < 20 or term > Decimal("1e-45") * total:
        sum_b += 1 / (b_ + n)
        sum_c += 1 / (c_ + n)
        term *= (b_ + n) / (c_ + n) * z_
        n += 1
        total += term
        d_b += term * sum_b
        d_c -= term * sum_c
        d_z += n * term / z_
    return (
        float(total.ln()),
        float(d_b / total),
        float(d_c / total),
        float(d_z / total),
    )


@pytest.mark.parametrize(
    ("b", "c", "z"),
    [
        (0.5, 2.1, 0.3),
        (3.0, 4.6, 0.05),
        (400.5, 401.7, 0.6),  # large upper parameter: the Pareto/NBD's r + x for large x
        (1.6, 450.0, 0.9),  # large lower parameter
        (0.01, 0.02, 0.94),  # parameters near zero, z near the series' limit of use
    ],
)
def test_value_and_derivatives_match_the_reference(b: float, c: float, z: float) -> None:
    got = log_hyp2f1_unit(np.array([b]), np.array([c]), np.array([z]))
    value, d_b, d_c, d_z = _reference(b, c, z)
    assert got.value[0] == pytest.approx(value, rel=1e-13, abs=1e-15)
    assert got.d_b[0] == pytest.approx(d_b, rel=1e-11, abs=1e-15)
    assert got.d_c[0] == pytest.approx(d_c, rel=1e-11, abs=1e-15)
    assert got.d_z[0] == pytest.approx(d_z, rel=1e-11)


def test_at_z_zero_the_function_is_one_and_its_slope_the_first_coefficient() -> None:
    got = log_hyp2f1_unit(np.array([2.0]), np.array([5.0]), np.array([0.0]))
    assert got.value[0] == 0.0 and got.d_b[0] == 0.0 and got.d_c[0] == 0.0
    assert got.d_z[0] == pytest.approx(2.0 / 5.0)


def test_rows_do_not_depend_on_their_neighbours() -> None:
    # Rows still summing are a prefix in falling z; the others may add terms below 1e-16 of
    # their sum, nothing more.
    rng = np.random.default_rng(1)
    b = rng.uniform(0.1, 50, 300)
    c = b + rng.uniform(0.05, 5, 300)
    z = rng.uniform(0, 0.9, 300)
    together = log_hyp2f1_unit(b, c, z)
    for i in (0, 77, 299):
        alone = log_hyp2f1_unit(b[i : i + 1], c[i : i + 1], z[i : i + 1])
        assert alone.value[0] == pytest.approx(together.value[i], rel=1e-14, abs=1e-16)
        assert alone.d_b[0] == pytest.approx(together.d_b[i], rel=1e-13, abs=1e-16)


def test_a_series_that_would_not_converge_in_time_is_an_error() -> None:
    with pytest.raises(ArithmeticError, match="still summing"):
        log_hyp2f1_unit(np.array([500.0]), np.array([500.5]), np.array([0.99999]))
