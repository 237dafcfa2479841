"""Erasure: everything a venue holds about one customer, deleted in one transaction.

The customer's events, facts, profile and pending mark go; the venue's segment counts lose the
profile at once (they are aggregates and stay); run errors that quoted the pseudonym are
scrubbed. With `suppress`, the pseudonym is put on the venue's suppression list in the same
transaction, the only place it then remains. The audit trail records the erasure without it.

An erasure waits for a recompute of the venue that is writing profiles (it could otherwise
write the customer's profile back from what it read before): it takes the venue's recompute
lock in shared mode, as the on-demand profile store does, for at most `lock_timeout`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import OperationalError, transaction
from django.db.models import Value
from django.db.models.functions import Replace

from customer_intel.db.locks import lock_not_available, runs_wait
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    PrivacyAction,
    PrivacyAuditEntry,
    RecomputeRun,
    SegmentSnapshot,
    SuppressedCustomer,
    Venue,
)
from customer_intel.services.audit import Actor, audit_record

ERASED_MARK = "[erased customer]"


class CustomerNotFound(Exception):
    """The venue holds nothing about the customer."""


class VenueBusy(Exception):
    """A recompute of the venue kept its lock longer than the erasure would wait."""


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """What one erasure deleted at one venue."""

    events: int
    profiles: int
    suppressed: bool


def customer_erase(
    *,
    venue: Venue,
    customer: str,
    actor: Actor,
    suppress: bool = False,
    lock_timeout_ms: int | None = None,
) -> ErasureResult:
    """Erase the pseudonym `customer` at `venue`; with `suppress`, also drop their later events.

    Raises CustomerNotFound (nothing changed) when the venue holds no event, facts, profile or
    pending mark of the customer, and VenueBusy when a recompute holds the venue for longer
    than `lock_timeout_ms` (None: wait for it).
    """
    try:
        with transaction.atomic():
            runs_wait(venue.pk, lock_timeout_ms=lock_timeout_ms)
            events, _ = CustomerEvent.objects.filter(venue=venue, customer=customer).delete()
            facts, _ = CustomerFacts.objects.filter(venue=venue, customer=customer).delete()
            pending, _ = PendingCustomer.objects.filter(venue=venue, customer=customer).delete()
            profiles = _profile_delete(venue=venue, customer=customer)
            if not (events or facts or pending or profiles):
                raise CustomerNotFound
            _scrub_error_texts(venue=venue, customer=customer)
            audit_record(
                venue=venue,
                action=PrivacyAction.ERASURE,
                actor=actor,
                events=events,
                profiles=profiles,
                customers=1,
            )
            if suppress:
                _, created = SuppressedCustomer.objects.get_or_create(
                    venue=venue, customer=customer
                )
                if created:
                    audit_record(
                        venue=venue, action=PrivacyAction.SUPPRESSION, actor=actor, customers=1
                    )
    except OperationalError as exc:
        if lock_not_available(exc):
            raise VenueBusy from None
        raise
    return ErasureResult(events=events, profiles=profiles, suppressed=suppress)


def customer_erase_everywhere(
    *, customer: str, actor: Actor, suppress: bool = False
) -> dict[Venue, ErasureResult]:
    """Erase the pseudonym `customer` at every venue that holds something about them, one
    venue (one transaction) at a time; with `suppress`, suppressed at each of those venues.

    Returns the result per venue where something was erased (empty: found nowhere).
    """
    results: dict[Venue, ErasureResult] = {}
    # Venue by venue: every table's indexes lead with the venue.
    for venue in Venue.objects.order_by("pk").iterator():
        try:
            results[venue] = customer_erase(
                venue=venue, customer=customer, actor=actor, suppress=suppress
            )
        except CustomerNotFound:
            continue
    return results


def _profile_delete(*, venue: Venue, customer: str) -> int:
    """Delete the customer's profile and take it out of the venue's segment counts."""
    profile = (
        CustomerProfile.objects.filter(venue=venue, customer=customer)
        .values("pk", "segment", "rfm_segment", "computed_at")
        .first()
    )
    if profile is None:
        return 0
    CustomerProfile.objects.filter(pk=profile["pk"]).delete()
    snapshot = SegmentSnapshot.objects.select_for_update().filter(venue=venue).first()
    # A profile computed after the snapshot (on demand) is not in its counts yet.
    if snapshot is None or snapshot.computed_at is None:
        return 1
    if profile["computed_at"] > snapshot.computed_at:
        return 1
    segments = dict(snapshot.segment_counts)
    rfm_segments = dict(snapshot.rfm_segment_counts)
    segments[profile["segment"]] = max(segments.get(profile["segment"], 0) - 1, 0)
    rfm_segments[profile["rfm_segment"]] = max(rfm_segments.get(profile["rfm_segment"], 0) - 1, 0)
    snapshot.segment_counts = segments
    snapshot.rfm_segment_counts = rfm_segments
    snapshot.total_customers = sum(segments.values())
    snapshot.save(update_fields=["segment_counts", "rfm_segment_counts", "total_customers"])
    return 1


def _scrub_error_texts(*, venue: Venue, customer: str) -> None:
    """Replace the pseudonym in the venue's recorded error texts (a failed run's database
    error may quote a row's key)."""
    for model in (RecomputeRun, PrivacyAuditEntry):
        model.objects.filter(venue=venue, error__contains=customer).update(
            error=Replace("error", Value(customer), Value(ERASED_MARK))
        )
