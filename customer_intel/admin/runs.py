"""Recompute runs and purchase-model fits, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from customer_intel.admin.common import (
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    VenueTimeZoneMixin,
    local_time,
    pretty_json,
    text_preview,
)
from customer_intel.models import (
    PredictionModelFit,
    RecomputeRun,
)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(
    VenueTimeZoneMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    """Every recompute: what was asked, what happened, how long it took. Read-only."""

    list_display = (
        "id",
        "venue",
        "mode",
        "status",
        "as_of_local",
        "requested_local",
        "duration",
        "customers_processed",
        "events_processed",
        "error_preview",
    )
    list_filter = ("status", "mode", "venue")
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    # An incremental run every few minutes per venue makes this table large too.
    ordering = ("-id",)
    sortable_by = ("id",)
    fields = (
        "id",
        "venue",
        "mode",
        "status",
        "as_of",
        ("requested_at", "started_at", "finished_at"),
        "duration",
        ("customers_processed", "events_processed"),
        "task_id",
        "error_text",
    )
    readonly_fields = ("duration", "error_text")

    as_of_local = local_time("as_of", "as of")

    requested_local = local_time("requested_at", "requested")

    @admin.display(description="duration")
    def duration(self, run: RecomputeRun) -> str:
        if run.duration_seconds is None:
            return "-"
        return f"{run.duration_seconds:.1f} s"

    @admin.display(description="error")
    def error_preview(self, run: RecomputeRun) -> str:
        return text_preview(run.error)

    @admin.display(description="error")
    def error_text(self, run: RecomputeRun) -> str:
        if not run.error:
            return "-"
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', run.error)


@admin.register(PredictionModelFit)
class PredictionModelFitAdmin(
    VenueTimeZoneMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    """Purchase-model and Gamma-Gamma fits: the model chosen, every candidate's holdout error,
    used or refused with a reason. Read-only."""

    list_display = (
        "id",
        "venue",
        "as_of_local",
        "model",
        "usable",
        "reason",
        "candidates",
        "customers_used",
        "repeat_customers",
        "fit_seconds",
    )
    list_filter = ("usable", "model", "venue")
    list_select_related = ("venue",)
    raw_id_fields = ("venue", "run")
    ordering = ("-id",)
    sortable_by = ("id",)
    fields = (
        "venue",
        "run",
        ("as_of", "fitted_at"),
        "time_unit",
        ("model", "usable", "reason"),
        "candidates",
        ("customers_used", "repeat_customers"),
        "purchase_params_json",
        "purchase_log_likelihood",
        "gamma_gamma_params_json",
        "gamma_gamma_log_likelihood",
        "selection_json",
        "diagnostics_json",
        "fit_seconds",
    )
    readonly_fields = (
        "candidates",
        "purchase_params_json",
        "gamma_gamma_params_json",
        "selection_json",
        "diagnostics_json",
    )

    as_of_local = local_time("as_of", "as of")

    @admin.display(description="holdout MAE per candidate (lower is better)")
    def candidates(self, fit: PredictionModelFit) -> str:
        scores = [
            f"{candidate.get('label', candidate.get('model'))} "
            + (
                f"{candidate['holdout_mae']:.4f}"
                if candidate.get("holdout_mae") is not None
                else "refused"
            )
            for candidate in (fit.selection or {}).get("candidates", [])
        ]
        basis = (fit.selection or {}).get("basis", "")
        return f"{'; '.join(scores) or '-'} ({basis})" if basis else "; ".join(scores) or "-"

    @admin.display(description="purchase model parameters")
    def purchase_params_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.purchase_params)

    @admin.display(description="Gamma-Gamma parameters")
    def gamma_gamma_params_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.gamma_gamma_params)

    @admin.display(description="model choice")
    def selection_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.selection)

    @admin.display(description="diagnostics")
    def diagnostics_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.diagnostics)
