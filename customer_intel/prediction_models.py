"""A venue's purchase-model and Gamma-Gamma fits, one per run: what the predictions used."""

from __future__ import annotations

from django.db import models

from customer_intel.analytics.predictive.models import MODEL_CHOICES


class PredictionModelFit(models.Model):
    """A venue's purchase-model and Gamma-Gamma fit at one run, used or refused with a reason.

    `model` is the purchase model chosen (empty when none is usable); `selection` records how:
    the holdout, every candidate's holdout error and calibration fit, and the refits.
    """

    venue = models.ForeignKey(
        "customer_intel.Venue", on_delete=models.CASCADE, related_name="model_fits"
    )
    run = models.ForeignKey(
        "customer_intel.RecomputeRun",
        null=True,
        on_delete=models.SET_NULL,
        related_name="model_fits",
    )
    as_of = models.DateTimeField()
    fitted_at = models.DateTimeField(auto_now_add=True)
    time_unit = models.CharField(max_length=16, default="days")
    usable = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True, default="")
    customers_used = models.IntegerField(default=0)
    repeat_customers = models.IntegerField(default=0)
    model = models.CharField(max_length=16, blank=True, default="", choices=MODEL_CHOICES)
    purchase_params = models.JSONField(default=dict, blank=True)
    purchase_log_likelihood = models.FloatField(null=True, blank=True)
    gamma_gamma_params = models.JSONField(default=dict, blank=True)
    gamma_gamma_log_likelihood = models.FloatField(null=True, blank=True)
    selection = models.JSONField(default=dict, blank=True)
    diagnostics = models.JSONField(default=dict, blank=True)
    fit_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-fitted_at"]

    def __str__(self) -> str:
        return f"{self.venue}: fit {self.pk} ({'usable' if self.usable else 'refused'})"
