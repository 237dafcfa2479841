"""Rows of every model the admin shows, built directly as the recompute and ingestion would
leave them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    EventType,
    PendingCustomer,
    PredictionModelFit,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import pseudonymize
from tests.factories import MembershipFactory, VenueFactory

RAW_CUSTOMER_ID = "alice.raw-id@example.com"
OTHER_RAW_CUSTOMER_ID = "bob.raw-id@example.com"


def make_event(venue: Venue, customer: str, event_id: str, **fields: object) -> CustomerEvent:
    values: dict[str, object] = {
        "type": EventType.TICKET_PURCHASED,
        "occurred_at": timezone.now() - timedelta(days=3),
        "amount": Decimal("42.50"),
        "event_category": "concert",
        "channel": "email",
        "campaign": "spring-sale",
        "properties": {"seat": "A12"},
    }
    values.update(fields)
    return CustomerEvent.objects.create(venue=venue, customer=customer, event_id=event_id, **values)


def make_profile(venue: Venue, customer: str, **fields: object) -> CustomerProfile:
    now = timezone.now()
    values: dict[str, object] = {
        "total_purchases": 3,
        "total_spent": Decimal("1234.56"),
        "total_tickets": 5,
        "average_order_value": Decimal("411.52"),
        "purchase_frequency": 3.0,
        "days_since_last_purchase": 12,
        "first_seen": now - timedelta(days=400),
        "last_seen": now - timedelta(days=12),
        "first_purchase_at": now - timedelta(days=400),
        "last_purchase_at": now - timedelta(days=12),
        "segment": "regular",
        "churn_probability": 0.07,
        "predicted_lifetime_value": Decimal("3703.68"),
        "preferred_event_types": ["concert"],
        "top_event_type": "concert",
        "purchase_time": "evening",
        "rfm_recency": 12,
        "rfm_frequency": 5,
        "rfm_monetary": Decimal("1234.56"),
        "recency_score": 5,
        "frequency_score": 3,
        "monetary_score": 5,
        "rfm_segment": "Potential Loyalists",
        "insights": [
            {"type": "high_value", "title": "VIP Customer", "impact": "high"},
        ],
        "probability_alive": 0.93,
        "expected_purchases_365d": 2.7,
        "predicted_clv_365d": Decimal("987.65"),
        "as_of": now,
        "computed_at": now,
    }
    values.update(fields)
    return CustomerProfile.objects.create(venue=venue, customer=customer, **values)


def make_run(venue: Venue, **fields: object) -> RecomputeRun:
    now = timezone.now()
    values: dict[str, object] = {
        "mode": RunMode.FULL,
        "status": RunStatus.SUCCEEDED,
        "as_of": now,
        "started_at": now - timedelta(minutes=4),
        "finished_at": now - timedelta(minutes=3),
        "duration_seconds": 61.5,
        "customers_processed": 2,
        "events_processed": 3,
    }
    values.update(fields)
    return RecomputeRun.objects.create(venue=venue, **values)


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
    events = [
        make_event(venue, pseudonym, "alice-1"),
        make_event(venue, pseudonym, "alice-2", type=EventType.PAGE_VIEWED, amount=None),
    ]
    other_event = make_event(venue, other, "bob-1")
    profile = make_profile(venue, pseudonym)
    run = make_run(venue)
    failed_run = make_run(
        venue,
        mode=RunMode.INCREMENTAL,
        status=RunStatus.FAILED,
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
