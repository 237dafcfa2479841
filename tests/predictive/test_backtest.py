"""`manage.py backtest`: fit every model on a calibration period, score the holdout, compare
them with the audit rule and a naive baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from customer_intel.analytics.predictive.models import MODELS
from customer_intel.services.backtest import (
    AUDIT_RULE,
    NAIVE,
    BacktestError,
    backtest_run,
    model_row_name,
)
from tests.factories import VenueFactory
from tests.predictive.events import write_history

CALIBRATION_END = datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
HOLDOUT_DAYS = 182


@pytest.fixture
def small_venue(db):
    venue = VenueFactory()
    write_history(venue=venue, size=50, as_of=CALIBRATION_END, seed=8, holdout_days=30)
    return venue


@pytest.fixture
def history_venue(db):
    venue = VenueFactory()
    history = write_history(
        venue=venue, size=2500, as_of=CALIBRATION_END, seed=7, holdout_days=HOLDOUT_DAYS
    )
    return venue, history


def _actuals(history):
    purchases, spend, customers = 0, 0.0, 0
    for instants, amounts, refunds in zip(
        history.purchases, history.amounts, history.refunds, strict=True
    ):
        if instants[0] > CALIBRATION_END:
            continue
        customers += 1
        later = [a for moment, a in zip(instants, amounts, strict=True) if moment > CALIBRATION_END]
        purchases += len(later)
        refunded = sum(a for moment, a in refunds if moment > CALIBRATION_END)
        spend += max(float(sum(later)) - float(refunded), 0.0)
    return customers, purchases, spend


def test_backtest_compares_the_three_predictors_with_the_actuals(history_venue) -> None:
    venue, history = history_venue
    holdout_end = CALIBRATION_END + timedelta(days=HOLDOUT_DAYS)

    result = backtest_run(venue=venue, calibration_end=CALIBRATION_END, holdout_end=holdout_end)

    customers, purchases, spend = _actuals(history)
    assert result.customers == customers == 2500
    assert result.actual_purchases == purchases > 0
    assert result.actual_spend == pytest.approx(spend, abs=0.01)
    rows = [model_row_name(name) for name in MODELS]
    assert [score.name for score in result.scores] == [AUDIT_RULE, NAIVE, *rows]
    assert all(fit.usable for fit in result.purchase_fits.values())
    by_name = {score.name: score for score in result.scores}
    # The data follow BG/NBD: every model's aggregate is close and its errors beat the rules.
    for row in rows:
        model = by_name[row]
        assert model.predicted_purchases == pytest.approx(purchases, rel=0.15), row
        assert model.purchases_mae < by_name[NAIVE].purchases_mae
        assert model.purchases_rmse < by_name[NAIVE].purchases_rmse
        assert model.purchases_mae < by_name[AUDIT_RULE].purchases_mae
        assert np.isfinite(model.spend_mae) and model.spend_mae > 0
        assert result.curve_predicted[row][-1] == pytest.approx(model.predicted_purchases)
    # The venue's own choice, made from the calibration data alone, is marked.
    chosen = [score for score in result.scores if score.chosen]
    assert len(chosen) == 1 and chosen[0].name == model_row_name(result.chosen_model)
    assert result.curve_actual[-1] == purchases
    assert np.all(np.diff(result.curve_actual) >= 0)


def test_a_holdout_that_ends_after_now_is_refused(history_venue) -> None:
    venue, _history = history_venue
    with pytest.raises(BacktestError, match="has not been observed yet"):
        backtest_run(
            venue=venue,
            calibration_end=CALIBRATION_END,
            holdout_end=CALIBRATION_END + timedelta(days=10),
            now=CALIBRATION_END + timedelta(days=5),
        )


def test_command_prints_the_table_and_writes_the_plot(history_venue, tmp_path) -> None:
    venue, _history = history_venue
    out = StringIO()
    plot = tmp_path / "backtest.png"

    call_command(
        "backtest",
        str(venue.pk),
        "--calibration-end",
        "2025-12-31",
        "--holdout-end",
        "2026-07-01",
        "--plot",
        str(plot),
        stdout=out,
    )

    text = out.getvalue()
    assert "predictor" in text and "RMSE" in text
    for name in ("actual", AUDIT_RULE, NAIVE, *(model_row_name(m) for m in MODELS)):
        assert name in text
    for label in ("BG/NBD (weeks): r=", "MBG/NBD (weeks): r=", "Pareto/NBD (weeks): r="):
        assert label in text
    assert "the venue's choice from the calibration data alone:" in text
    assert " * " in text or "+ Gamma-Gamma *" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plot written to" in text


@pytest.mark.parametrize(
    ("calibration_end", "holdout_end", "message"),
    [
        ("31/12/2025", "2026-06-30", "--calibration-end '31/12/2025' is not a date"),
        ("2025-12-31", "tomorrow", "--holdout-end 'tomorrow' is not a date"),
        ("2025-12-31", "2025-12-31", "--holdout-end must be after --calibration-end"),
        ("2025-12-31", "2025-06-30", "--holdout-end must be after --calibration-end"),
        ("2019-01-01", "2019-06-30", "the calibration period has no purchases"),
        ("2025-12-31", "2999-01-01", "--holdout-end 2999-01-01.* is in the future"),
    ],
)
def test_bad_dates_are_refused(small_venue, calibration_end, holdout_end, message) -> None:
    venue = small_venue
    with pytest.raises(CommandError, match=message):
        call_command(
            "backtest",
            str(venue.pk),
            "--calibration-end",
            calibration_end,
            "--holdout-end",
            holdout_end,
            stdout=StringIO(),
        )


def test_unknown_venue_and_bad_plot_path_are_refused(small_venue, tmp_path) -> None:
    venue = small_venue
    dates = ["--calibration-end", "2025-12-31", "--holdout-end", "2026-06-30"]
    with pytest.raises(CommandError, match="No venue with id 'nope'"):
        call_command("backtest", "nope", *dates, stdout=StringIO())
    with pytest.raises(CommandError, match=r"--plot must name a \.png file"):
        call_command(
            "backtest", str(venue.pk), *dates, "--plot", str(tmp_path / "x.pdf"), stdout=StringIO()
        )


def test_a_venue_without_enough_repeat_buyers_reports_the_refusal(db) -> None:
    venue = VenueFactory()
    write_history(venue=venue, size=120, as_of=CALIBRATION_END, seed=9, holdout_days=60)
    out = StringIO()
    call_command(
        "backtest",
        str(venue.pk),
        "--calibration-end",
        "2025-12-31",
        "--holdout-end",
        "2026-03-01",
        stdout=out,
    )
    text = out.getvalue()
    for name, model in MODELS.items():
        assert f"{model.label} refused: not enough repeat customers" in text
        row = model_row_name(name)
        assert f"{row:<32}  unavailable: fit refused: not enough repeat customers" in text
    assert "the venue's choice from the calibration data alone: none usable" in text
