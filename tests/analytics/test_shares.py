from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from customer_intel.analytics.shares import histogram_counts, percentages


@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30))
def test_percentages_add_up_to_exactly_one_hundred(counts):
    shares = percentages(counts)
    if sum(counts) == 0:
        assert shares == [0.0] * len(counts)
        return
    assert sum(Decimal(str(share)) for share in shares) == Decimal("100.00")
    for count, share in zip(counts, shares, strict=True):
        assert abs(share - 100 * count / sum(counts)) < 0.01 + 1e-9


def test_the_missing_hundredth_goes_to_the_largest_remainder():
    # 1/3 each: 33.33 + 33.33 + 33.33 = 99.99, the first of the tied remainders gets 0.01.
    assert percentages([1, 1, 1]) == [33.34, 33.33, 33.33]
    assert percentages([2, 1]) == [66.67, 33.33]
    assert percentages([0, 5]) == [0.0, 100.0]


def test_histogram_counts_bins_half_open_with_a_closed_last_bin():
    assert histogram_counts([0, 0.5, 1, 1.5, 2, 3], [0, 1, 2]) == [2, 3]
