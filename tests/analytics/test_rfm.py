"""RFM scores at every boundary, and a segment name for every one of the 125 score codes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customer_intel.analytics import rfm

ALL_CODES = [(r, f, m) for r in rfm.SCORES for f in rfm.SCORES for m in rfm.SCORES]

GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: [
        "Promising",
        "Potential Loyalists",
        "Potential Loyalists",
        "Loyal Customers",
        "Loyal Customers",
    ],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
}
NAMED = {
    "555": "Champions",
    "554": "Champions",
    "454": "Loyal Customers",
    "543": "Potential Loyalists",
    "533": "Recent Customers",
    "332": "Promising",
    "311": "New Customers",
    "211": "Hibernating",
    "112": "At Risk",
    "111": "Lost",
}


@pytest.mark.parametrize(
    ("days", "score"),
    [
        (0, 5),
        (30, 5),
        (31, 4),
        (60, 4),
        (61, 3),
        (90, 3),
        (91, 2),
        (180, 2),
        (181, 1),
        (365, 1),
        (366, 1),
    ],
)
def test_recency_score(days, score):
    assert rfm.recency_score(days) == score


@pytest.mark.parametrize(
    ("per_year", "score"),
    [
        (0.0, 1),
        (0.9999, 1),
        (1.0, 2),
        (2.9999, 2),
        (3.0, 3),
        (5.9999, 3),
        (6.0, 4),
        (9.9999, 4),
        (10.0, 5),
        (250.0, 5),
    ],
)
def test_frequency_score_is_on_purchases_per_year(per_year, score):
    assert rfm.frequency_score(per_year) == score


@pytest.mark.parametrize(
    ("cents", "score"),
    [
        (0, 1),
        (4_999, 1),
        (5_000, 2),
        (19_999, 2),
        (20_000, 3),
        (49_999, 3),
        (50_000, 4),
        (99_999, 4),
        (100_000, 5),  # exactly 1000 scores 5 (>=), unlike the VIP rule (>)
        (100_001, 5),
    ],
)
def test_monetary_score_is_on_total_spent(cents, score):
    assert rfm.monetary_score(cents) == score


@pytest.mark.parametrize(("r", "f", "m"), ALL_CODES)
def test_every_code_has_a_named_segment(r, f, m):
    name = rfm.rfm_segment(r, f, m)
    code = f"{r}{f}{m}"
    expected = NAMED.get(code, GRID[r][f - 1])
    assert name == expected
    assert name in rfm.RFM_SEGMENTS
    assert name not in ("Other", "Prospects", "")


@pytest.mark.parametrize(("code", "name"), NAMED.items())
def test_the_audits_named_codes_win_over_the_grid(code, name):
    r, f, m = (int(digit) for digit in code)
    assert rfm.rfm_segment(r, f, m) == name


def test_named_codes_that_differ_from_their_grid_cell():
    # The cases where the audit's table and the grid disagree: the table is applied.
    assert GRID[5][3 - 1] == "Potential Loyalists"
    assert rfm.rfm_segment(5, 3, 3) == "Recent Customers"
    assert GRID[3][3 - 1] == "Need Attention"
    assert rfm.rfm_segment(3, 3, 2) == "Promising"
    assert GRID[3][3 - 1] == rfm.rfm_segment(3, 3, 1)
    assert GRID[1][1 - 1] == "Lost" and rfm.rfm_segment(1, 1, 2) == "At Risk"


def test_rfm_segments_lists_every_reachable_name_and_prospects():
    reachable = {rfm.rfm_segment(*code) for code in ALL_CODES}
    assert set(rfm.RFM_SEGMENTS) == reachable | {"Prospects"}


@pytest.mark.parametrize(("r", "f", "m"), [(0, 1, 1), (1, 6, 1), (1, 1, None)])
def test_scores_out_of_range_are_refused(r, f, m):
    with pytest.raises(ValueError, match="1-5"):
        rfm.rfm_segment(r, f, m)


def test_analysis_reports_tickets_and_spend_but_scores_purchase_frequency():
    result = rfm.rfm_analysis(
        days_since_last_purchase=45,
        total_tickets=40,  # many tickets...
        total_spent_cents=25_000,
        purchase_frequency=1.5,  # ...but few purchases a year
    )
    assert result == rfm.RfmResult(
        recency=45,
        frequency=40,
        monetary=Decimal("250.00"),
        recency_score=4,
        frequency_score=2,
        monetary_score=3,
        segment="Potential Loyalists",
    )


def test_a_customer_without_purchase_is_a_prospect():
    result = rfm.rfm_analysis(
        days_since_last_purchase=None,
        total_tickets=0,
        total_spent_cents=0,
        purchase_frequency=0.0,
    )
    assert result == rfm.RfmResult(
        recency=None,
        frequency=0,
        monetary=Decimal("0.00"),
        recency_score=None,
        frequency_score=None,
        monetary_score=None,
        segment="Prospects",
    )
