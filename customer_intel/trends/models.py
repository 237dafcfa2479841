"""What a venue's audience looked like over time: aggregate counts only, never an identifier."""

from __future__ import annotations

from django.db import models


class SegmentHistoryPoint(models.Model):
    """A venue's segment and RFM-segment counts as they stood at a run's as-of.

    One row per local date of the as-of (in the venue's time zone): the day's last successful
    run replaces the earlier ones of that date.
    """

    venue = models.ForeignKey(
        "customer_intel.Venue", on_delete=models.CASCADE, related_name="segment_history"
    )
    local_date = models.DateField(help_text="Date of the run's as-of in the venue's time zone.")
    run = models.ForeignKey(
        "customer_intel.RecomputeRun", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateTimeField()
    computed_at = models.DateTimeField()
    total_customers = models.IntegerField()
    segment_counts = models.JSONField(default=dict)
    rfm_segment_counts = models.JSONField(default=dict)

    class Meta:
        verbose_name = "segment history point"
        constraints = [
            models.UniqueConstraint(fields=["venue", "local_date"], name="history_venue_date"),
        ]
        ordering = ["venue", "local_date"]

    def __str__(self) -> str:
        return f"segments of {self.venue} on {self.local_date}"


class SegmentFlowSet(models.Model):
    """How many customers moved from each segment to each other between two full runs.

    `segment_flows`/`rfm_segment_flows` are lists of `[from, to, count]`; `from` is null for a
    customer who entered after the earlier full run, `to` null for one who left (erased, or no
    event at or before the later as-of). The counts of this run are kept so the next full run
    knows exactly how many it started from.
    """

    venue = models.ForeignKey(
        "customer_intel.Venue", on_delete=models.CASCADE, related_name="segment_flows"
    )
    run = models.OneToOneField(
        "customer_intel.RecomputeRun", on_delete=models.CASCADE, related_name="segment_flows"
    )
    as_of = models.DateTimeField()
    local_date = models.DateField()
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment_counts = models.JSONField(default=dict)
    rfm_segment_counts = models.JSONField(default=dict)
    segment_flows = models.JSONField(default=list)
    rfm_segment_flows = models.JSONField(default=list)

    class Meta:
        verbose_name = "segment flows of a full run"
        verbose_name_plural = "segment flows of full runs"
        indexes = [models.Index(fields=["venue", "local_date", "id"], name="flows_venue_date")]

    def __str__(self) -> str:
        return f"flows of {self.venue} to {self.local_date}"


class SegmentSnapshot(models.Model):
    """Segment and RFM-segment counts of a venue's profile cache, kept current by every run
    so the segments endpoint never scans the profile table."""

    venue = models.OneToOneField(
        "customer_intel.Venue", on_delete=models.CASCADE, related_name="segment_snapshot"
    )
    segment_counts = models.JSONField(default=dict)
    rfm_segment_counts = models.JSONField(default=dict)
    total_customers = models.IntegerField(default=0)
    as_of = models.DateTimeField(null=True)
    computed_at = models.DateTimeField(null=True)
    run = models.ForeignKey(
        "customer_intel.RecomputeRun", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"segments of {self.venue}"
