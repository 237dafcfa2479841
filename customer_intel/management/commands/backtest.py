"""`manage.py backtest VENUE_ID --calibration-end DATE --holdout-end DATE [--plot PATH.png]`.

Fits every purchase model (BG/NBD, MBG/NBD, Pareto/NBD) and Gamma-Gamma on the venue's events up
to the calibration end, predicts the holdout, and prints predicted against actual purchases and
spend for each model, the audit rule and a naive baseline, side by side, marking the model the
venue's own choice picks from the calibration data. See docs/PREDICTIONS.md.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from customer_intel.analytics.predictive.models import MODELS
from customer_intel.models import Venue
from customer_intel.services.backtest import (
    AUDIT_RULE,
    NAIVE,
    BacktestError,
    BacktestResult,
    backtest_run,
)


def parse_instant(value: str, *, option: str, tz: ZoneInfo) -> datetime:
    """A date (the end of that day in the venue's time zone) or an ISO-8601 date-time (a
    naive one is read in the venue's time zone)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
            return next_midnight - timedelta(microseconds=1)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{option} {value!r} is not a date (YYYY-MM-DD) or an ISO-8601 date-time."
        ) from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


class Command(BaseCommand):
    help = (
        "Backtest the venue's purchase predictions: fit every model on events up to "
        "--calibration-end, compare predictions with what happened up to --holdout-end "
        "(which must not be in the future)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("venue_id", help="The venue's id (UUID).")
        parser.add_argument(
            "--calibration-end",
            required=True,
            help="End of the calibration period: YYYY-MM-DD (end of that day, venue time) "
            "or an ISO-8601 date-time.",
        )
        parser.add_argument(
            "--holdout-end", required=True, help="End of the holdout period (same formats)."
        )
        parser.add_argument(
            "--plot", type=Path, help="Write cumulative actual vs predicted purchases to a PNG."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        venue = self._venue(options["venue_id"])
        tz = ZoneInfo(venue.timezone)
        calibration_end = parse_instant(
            options["calibration_end"], option="--calibration-end", tz=tz
        )
        holdout_end = parse_instant(options["holdout_end"], option="--holdout-end", tz=tz)
        if holdout_end <= calibration_end:
            raise CommandError("--holdout-end must be after --calibration-end.")
        if holdout_end > timezone.now():
            raise CommandError(
                f"--holdout-end {holdout_end.isoformat()} is in the future: the holdout must "
                "have been observed. Choose an end at or before now."
            )
        plot_path: Path | None = options["plot"]
        if plot_path is not None and plot_path.suffix.lower() != ".png":
            raise CommandError("--plot must name a .png file.")
        try:
            result = backtest_run(
                venue=venue, calibration_end=calibration_end, holdout_end=holdout_end
            )
        except BacktestError as exc:
            raise CommandError(f"Cannot backtest: {exc}.") from exc
        self._report(result)
        if plot_path is not None:
            self._plot(result, plot_path, venue)

    def _venue(self, venue_id: str) -> Venue:
        try:
            return Venue.objects.get(pk=uuid.UUID(venue_id))
        except (ValueError, Venue.DoesNotExist) as exc:
            raise CommandError(f"No venue with id {venue_id!r}.") from exc

    def _report(self, result: BacktestResult) -> None:
        write = self.stdout.write
        write(
            f"calibration: events at or before {result.calibration_end.isoformat()}\n"
            f"holdout: ({result.calibration_end.isoformat()}, {result.holdout_end.isoformat()}]"
            f" = {result.holdout_days} days\n"
            f"customers: {result.customers} with a calibration purchase "
            f"({result.repeat_customers} repeat); {result.new_in_holdout} first bought in the "
            "holdout (not predicted)\n"
            "purchases are purchase days (distinct local dates); spend is net of refunds\n"
        )
        for name, fit in result.purchase_fits.items():
            label = MODELS[name].label
            if fit.usable:
                params = ", ".join(f"{key}={value:.4g}" for key, value in fit.params.items())
                write(
                    f"{label} ({fit.time_unit}): {params}; log-likelihood {fit.log_likelihood:.1f}"
                )
            else:
                write(f"{label} refused: {fit.reason}")
        spend = result.spend_fit
        if spend.usable:
            params = ", ".join(f"{name}={value:.4g}" for name, value in spend.params.items())
            write(f"Gamma-Gamma: {params}; log-likelihood {spend.log_likelihood:.1f}")
        else:
            write(f"Gamma-Gamma refused: {spend.reason}")
        chosen = MODELS[result.chosen_model].label if result.chosen_model else "none usable"
        write(
            f"the venue's choice from the calibration data alone: {chosen} "
            f"(by {result.choice_basis.replace('_', '-')})"
        )
        header = (
            f"{'predictor':<32}{'purchases':>12}{'MAE':>9}{'RMSE':>9}"
            f"{'spend':>15}{'MAE':>11}{'RMSE':>11}"
        )
        write("")
        write(header)
        write("-" * len(header))
        write(
            f"{'actual':<32}{result.actual_purchases:>12.1f}{'':>9}{'':>9}"
            f"{result.actual_spend:>15.2f}"
        )
        for score in result.scores:
            name = f"{score.name} *" if score.chosen else score.name
            if not score.available:
                write(f"{name:<32}  unavailable: {score.note}")
                continue
            write(
                f"{name:<32}{score.predicted_purchases:>12.1f}{score.purchases_mae:>9.3f}"
                f"{score.purchases_rmse:>9.3f}{_money(score.predicted_spend):>15}"
                f"{_money(score.spend_mae):>11}{_money(score.spend_rmse):>11}"
            )
            if score.note:
                write(f"{'':<32}  {score.note}")
        write("* the model the venue's choice picks from the calibration data")

    def _plot(self, result: BacktestResult, path: Path, venue: Venue) -> None:
        # Imported here: only --plot needs matplotlib (a runtime dependency), and it is slow to
        # import for the table alone.
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        tz = ZoneInfo(venue.timezone)
        calibration_end = result.calibration_end.astimezone(tz).date()
        holdout_end = result.holdout_end.astimezone(tz).date()
        figure, axes = pyplot.subplots(figsize=(8, 5))
        axes.plot(result.curve_days, result.curve_actual, label="Actual", color="black")
        for name, values in result.curve_predicted.items():
            axes.plot(result.curve_days, values, label=_PLOT_LABELS.get(name, name), linestyle="--")
        axes.set_xlabel("days after calibration end")
        axes.set_ylabel("cumulative purchases (purchase days)")
        axes.set_title(
            f"{venue.name}: holdout purchases of calibration customers\n"
            f"calibration through {calibration_end}, holdout through {holdout_end}"
        )
        axes.legend()
        figure.tight_layout()
        try:
            figure.savefig(path, format="png")
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        finally:
            pyplot.close(figure)
        self.stdout.write(f"plot written to {path}")


# The baselines by the names the documentation gives them (the models' rows already are).
_PLOT_LABELS = {AUDIT_RULE: "Audit rule", NAIVE: "Naive"}


def _money(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.2f}"
