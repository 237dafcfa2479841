"""factory_boy factories for the models tests build by hand.

Customers are pseudonyms, as stored; pass `raw_id` to name one by the id a client would send.
Traits say what kind of row: `EventFactory(page_view=True)`, `ProfileFactory(new=True)`,
`RunFactory(succeeded=True)`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    EventType,
    RecomputeRun,
    RunMode,
    RunStatus,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import pseudonymize


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Venue {n}")
    timezone = "UTC"
    currency = "USD"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VenueMembership

    user = factory.SubFactory(UserFactory)
    venue = factory.SubFactory(VenueFactory)
    can_write = False


def _ago(**delta: float) -> factory.LazyFunction:
    return factory.LazyFunction(lambda: timezone.now() - timedelta(**delta))


class EventFactory(factory.django.DjangoModelFactory):
    """A stored event, a purchase unless a trait says otherwise."""

    class Meta:
        model = CustomerEvent

    class Params:
        raw_id = factory.Sequence(lambda n: f"customer-{n}@example.com")
        page_view = factory.Trait(type=EventType.PAGE_VIEWED, amount=None)
        refund = factory.Trait(type=EventType.TICKET_REFUNDED)

    venue = factory.SubFactory(VenueFactory)
    event_id = factory.Sequence(lambda n: f"event-{n}")
    customer = factory.LazyAttribute(lambda event: pseudonymize(event.raw_id))
    type = EventType.TICKET_PURCHASED
    occurred_at = _ago(days=3)
    amount = Decimal("42.50")
    quantity = 1
    event_category = "concert"


class ProfileFactory(factory.django.DjangoModelFactory):
    """A stored profile with plausible, consistent figures: a regular buyer with a usable
    prediction unless a trait says otherwise."""

    class Meta:
        model = CustomerProfile

    class Params:
        raw_id = factory.Sequence(lambda n: f"customer-{n}@example.com")
        # A customer with events but no purchase yet.
        new = factory.Trait(
            total_purchases=0,
            total_spent=Decimal("0"),
            total_tickets=0,
            average_order_value=Decimal("0"),
            purchase_frequency=0.0,
            days_since_last_purchase=None,
            first_purchase_at=None,
            last_purchase_at=None,
            segment="new",
            churn_probability=None,
            predicted_lifetime_value=Decimal("0"),
            preferred_event_types=[],
            top_event_type="",
            purchase_time=None,
            rfm_recency=None,
            rfm_frequency=0,
            rfm_monetary=Decimal("0"),
            recency_score=None,
            frequency_score=None,
            monetary_score=None,
            rfm_segment="Prospects",
            insights=[],
            probability_alive=None,
            expected_purchases_365d=None,
            predicted_clv_365d=None,
            prediction_unavailable_reason="no purchase yet",
        )

    venue = factory.SubFactory(VenueFactory)
    customer = factory.LazyAttribute(lambda profile: pseudonymize(profile.raw_id))
    total_purchases = 3
    total_spent = Decimal("1234.56")
    total_tickets = 5
    average_order_value = Decimal("411.52")
    purchase_frequency = 3.0
    days_since_last_purchase = 12
    first_seen = _ago(days=400)
    last_seen = _ago(days=12)
    first_purchase_at = _ago(days=400)
    last_purchase_at = _ago(days=12)
    segment = "regular"
    churn_probability = 0.07
    predicted_lifetime_value = Decimal("3703.68")
    preferred_event_types = factory.LazyFunction(lambda: ["concert"])
    top_event_type = "concert"
    purchase_time = "evening"
    rfm_recency = 12
    rfm_frequency = 5
    rfm_monetary = Decimal("1234.56")
    recency_score = 5
    frequency_score = 3
    monetary_score = 5
    rfm_segment = "Potential Loyalists"
    insights = factory.LazyFunction(
        lambda: [{"type": "high_value", "title": "VIP Customer", "impact": "high"}]
    )
    probability_alive = 0.93
    expected_purchases_365d = 2.7
    predicted_clv_365d = Decimal("987.65")
    as_of = factory.LazyFunction(timezone.now)
    computed_at = factory.LazyFunction(timezone.now)


class RunFactory(factory.django.DjangoModelFactory):
    """A recompute run: a full run waiting for a worker unless a trait says otherwise."""

    class Meta:
        model = RecomputeRun

    class Params:
        incremental = factory.Trait(mode=RunMode.INCREMENTAL)
        running = factory.Trait(status=RunStatus.RUNNING, started_at=_ago(minutes=1))
        succeeded = factory.Trait(
            status=RunStatus.SUCCEEDED,
            as_of=factory.LazyFunction(timezone.now),
            started_at=_ago(minutes=4),
            finished_at=_ago(minutes=3),
            duration_seconds=61.5,
            customers_processed=2,
            events_processed=3,
        )
        failed = factory.Trait(
            status=RunStatus.FAILED,
            started_at=_ago(minutes=4),
            finished_at=_ago(minutes=3),
            error="RuntimeError: boom",
        )

    venue = factory.SubFactory(VenueFactory)
    mode = RunMode.FULL
    status = RunStatus.QUEUED


def token_for(user) -> str:  # type: ignore[no-untyped-def]
    return Token.objects.get_or_create(user=user)[0].key
