"""Suppression: customers whose later events a venue no longer collects.

Set when a customer is erased with `suppress` (customer_intel.services.erasure), so a platform
replaying old batches cannot bring them back; lifted by `manage.py lift_suppression`. The list
holds the pseudonym only. Every ingestion path drops a suppressed customer's events before
anything is stored: `suppressed_pseudonyms` is the one place that says who they are.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from customer_intel.models import PrivacyAction, SuppressedCustomer, Venue
from customer_intel.services.audit import Actor, audit_record


def suppressed_pseudonyms(*, venue: Venue) -> QuerySet[SuppressedCustomer, str]:
    """The pseudonyms suppressed at `venue`, as a flat queryset of strings.

    Narrow it to a batch's customers (`.filter(customer__in=...)`) to filter in Python, or use
    it as a subquery (`customer__in=`, `Exists`) to filter in the database, e.g. from a bulk
    load's staging table; either way it is one probe of the (venue, customer) unique index.
    """
    return SuppressedCustomer.objects.filter(venue=venue).values_list("customer", flat=True)


def customer_suppress(*, venue: Venue, customer: str, actor: Actor) -> bool:
    """Suppress the pseudonym `customer` at `venue`; False when it already was.

    Recorded in the audit trail (without the pseudonym).
    """
    with transaction.atomic():
        _, created = SuppressedCustomer.objects.get_or_create(venue=venue, customer=customer)
        if created:
            audit_record(venue=venue, action=PrivacyAction.SUPPRESSION, actor=actor, customers=1)
    return created


def suppression_lift(*, venue: Venue, customer: str, actor: Actor) -> bool:
    """Collect the pseudonym `customer`'s events at `venue` again; False when it was not
    suppressed there. Events dropped meanwhile are not brought back."""
    with transaction.atomic():
        deleted, _ = SuppressedCustomer.objects.filter(venue=venue, customer=customer).delete()
        if deleted:
            audit_record(
                venue=venue, action=PrivacyAction.SUPPRESSION_LIFTED, actor=actor, customers=1
            )
    return bool(deleted)
