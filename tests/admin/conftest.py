"""Rows of every model the admin shows, built directly as the recompute and ingestion would
leave them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    PredictionModelFit,
    RecomputeRun,
    SegmentSnapshot,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import pseudonymize
from tests.factories import (
    EventFactory,
    MembershipFactory,
    ProfileFactory,
    RunFactory,
    VenueFactory,
)

RAW_CUSTOMER_ID = "alice.raw-id@example.com"
OTHER_RAW_CUSTOMER_ID = "bob.raw-id@example.com"


@dataclass
class AdminData:
    venue: Venue
    pseudonym: str
    other_pseudonym: str
    events: list[CustomerEvent]
    other_event: CustomerEvent
    profile: CustomerProfile
    run: RecomputeRun
    failed_run: RecomputeRun
    fit: PredictionModelFit
    snapshot: SegmentSnapshot
    facts: CustomerFacts
    pending: PendingCustomer
    membership: VenueMembership


@pytest.fixture
def admin_data(db) -> AdminData:
    """One venue with a row of every kind the admin shows."""
    venue = VenueFactory(name="Blue Note Hall", timezone="Europe/Paris", currency="EUR")
    pseudonym = pseudonymize(RAW_CUSTOMER_ID)
    other = pseudonymize(OTHER_RAW_CUSTOMER_ID)
    sent = {"channel": "email", "campaign": "spring-sale", "properties": {"seat": "A12"}}
    events = [
        EventFactory(venue=venue, customer=pseudonym, event_id="alice-1", **sent),
        EventFactory(venue=venue, customer=pseudonym, event_id="alice-2", page_view=True, **sent),
    ]
    other_event = EventFactory(venue=venue, customer=other, event_id="bob-1", **sent)
    profile = ProfileFactory(venue=venue, customer=pseudonym)
    run = RunFactory(venue=venue, succeeded=True)
    failed_run = RunFactory(
        venue=venue,
        incremental=True,
        failed=True,
        error="WorkerLostError: " + "the worker was killed mid-run; " * 10 + "END-OF-ERROR",
    )
    fit = PredictionModelFit.objects.create(
        venue=venue,
        run=run,
        as_of=run.as_of,
        usable=True,
        reason="",
        customers_used=1800,
        repeat_customers=640,
        model="bgnbd",
        purchase_params={"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        purchase_log_likelihood=-9582.43,
        selection={
            "chosen": "bgnbd",
            "basis": "holdout",
            "candidates": [
                {"model": "bgnbd", "label": "BG/NBD", "holdout_mae": 0.512},
                {"model": "mbgnbd", "label": "MBG/NBD", "holdout_mae": 0.518},
                {"model": "pareto_nbd", "label": "Pareto/NBD", "holdout_mae": None},
            ],
        },
        gamma_gamma_params={"p": 6.25, "q": 3.74, "v": 15.44},
        diagnostics={"converged": True, "iterations": 37},
        fit_seconds=0.84,
    )
    snapshot = SegmentSnapshot.objects.create(
        venue=venue,
        segment_counts={"regular": 1, "new": 1},
        rfm_segment_counts={"Potential Loyalists": 1, "Prospects": 1},
        total_customers=2,
        as_of=run.as_of,
        computed_at=run.finished_at,
        run=run,
    )
    facts = CustomerFacts.objects.create(
        venue=venue,
        customer=pseudonym,
        first_seen=events[0].occurred_at,
        last_seen=events[1].occurred_at,
        purchase_count=1,
        purchase_cents=4250,
        purchase_quantity=1,
        first_purchase_at=events[0].occurred_at,
        last_purchase_at=events[0].occurred_at,
        purchase_days=1,
        evening_purchases=1,
        category_counts={"concert": 1},
        refreshed_at=timezone.now(),
    )
    pending = PendingCustomer.objects.create(venue=venue, customer=other, marked_at=timezone.now())
    membership = MembershipFactory(venue=venue, can_write=True)
    return AdminData(
        venue=venue,
        pseudonym=pseudonym,
        other_pseudonym=other,
        events=events,
        other_event=other_event,
        profile=profile,
        run=run,
        failed_run=failed_run,
        fit=fit,
        snapshot=snapshot,
        facts=facts,
        pending=pending,
        membership=membership,
    )
