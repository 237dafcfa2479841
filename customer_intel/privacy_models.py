"""Personal-data operations: who is suppressed at a venue, and the audit trail of erasures,
suppressions and retention purges. Neither holds a raw customer id."""

from __future__ import annotations

from django.db import models


class SuppressedCustomer(models.Model):
    """A customer whose later events a venue no longer collects: ingestion drops them.

    Holds only what matching needs, the pseudonym: who asked, when and why is in the audit
    trail, which in turn holds no identifier.
    """

    # No index of its own: the unique key leads with the venue.
    venue = models.ForeignKey(
        "customer_intel.Venue",
        on_delete=models.CASCADE,
        related_name="suppressed_customers",
        db_index=False,
    )
    customer = models.CharField(max_length=64, help_text="Customer pseudonym.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["venue", "customer"], name="unique_suppressed_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"suppressed {self.customer[:12]}…"


class PrivacyAction(models.TextChoices):
    ERASURE = "erasure"
    SUPPRESSION = "suppression"
    SUPPRESSION_LIFTED = "suppression_lifted"
    RETENTION_PURGE = "retention_purge"


class PrivacyAuditEntry(models.Model):
    """One erasure, suppression, lifted suppression or retention purge at a venue: when, who,
    what and how many, never which customer.

    A retention purge is recorded like a run: `running` while its batches commit (each batch
    adds to the counts in its own transaction), then `succeeded` or `failed`.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    # Indexed by audit_venue_latest, which leads with the venue.
    venue = models.ForeignKey(
        "customer_intel.Venue",
        on_delete=models.CASCADE,
        related_name="privacy_audit",
        db_index=False,
    )
    action = models.CharField(max_length=32, choices=PrivacyAction.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    # The user name for the API; the operating-system user for a command; "schedule" for beat.
    actor = models.CharField(max_length=150)
    via = models.CharField(max_length=16, help_text="api, command or schedule.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    events = models.BigIntegerField(default=0, help_text="Events deleted.")
    profiles = models.IntegerField(default=0, help_text="Profiles deleted.")
    customers = models.IntegerField(default=0, help_text="Customers concerned.")
    # Aggregates only (a retention purge's cutoff and batches, the recompute run it queued).
    detail = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "privacy audit entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["venue", "-id"], name="audit_venue_latest")]

    def __str__(self) -> str:
        return f"{self.action} at {self.venue_id} ({self.status})"
