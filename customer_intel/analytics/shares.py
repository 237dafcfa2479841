"""Percentages that add up: largest-remainder rounding of counts to shares of their total."""

from __future__ import annotations

from collections.abc import Sequence

DECIMALS = 2
_UNITS = 100 * 10**DECIMALS  # 100.00 % in hundredths of a percent


def percentages(counts: Sequence[int]) -> list[float]:
    """Each count's share of the total in percent, two decimals, summing to exactly 100.00.

    Hamilton's (largest-remainder) method: every share is rounded down to a hundredth of a
    percent, then the hundredths still missing go one each to the largest remainders (ties to
    the earlier item, so the answer is stable). All zeros when the total is zero.
    """
    total = sum(counts)
    if total <= 0:
        return [0.0 for _ in counts]
    floors, remainders = [], []
    for index, count in enumerate(counts):
        whole, remainder = divmod(count * _UNITS, total)
        floors.append(whole)
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: _UNITS - sum(floors)]:
        floors[index] += 1
    return [units / 10**DECIMALS for units in floors]


def histogram_counts(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many values fall in each bin [edges[i], edges[i+1]); the last bin is closed."""
    counts = [0] * (len(edges) - 1)
    last = len(counts) - 1
    for value in values:
        if value < edges[0] or value > edges[-1]:
            continue
        low, high = 0, last
        while low < high:  # the last edge not above value
            middle = (low + high + 1) // 2
            if edges[middle] <= value:
                low = middle
            else:
                high = middle - 1
        counts[low] += 1
    return counts
