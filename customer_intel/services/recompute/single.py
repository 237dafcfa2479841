"""One customer's profile on demand: the read path's answer for a customer with events but
no profile yet. It records no run and leaves the customer's pending mark to the next run."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from customer_intel.db.locks import LockNotAcquired, venue_unlocked_write
from customer_intel.models import CustomerProfile, Venue
from customer_intel.services import facts as facts_service
from customer_intel.services.recompute.profiles import profile_instance, profile_upsert_one
from customer_intel.services.recompute.rows import predictor_for, profile_rows

logger = logging.getLogger(__name__)

# How long an on-demand store may wait for a row lock before giving up on saving.
SINGLE_STORE_LOCK_TIMEOUT = "200ms"


def compute_single_customer(
    *,
    venue: Venue,
    customer: str,
    as_of: datetime | None = None,
    store: bool = True,
) -> CustomerProfile | None:
    """Compute one customer's profile on demand (`customer` is a pseudonym) and store it.

    Returns None when the customer has no event at or before `as_of` (default now). Reads are
    never held up by a running recompute: the store is skipped while a run of the venue holds
    its lock (that run is about to write every profile anyway) and abandoned if a row lock is
    not granted within SINGLE_STORE_LOCK_TIMEOUT; the computed profile is then returned
    unsaved (`pk` is None). The customer's pending mark is left for the next incremental run,
    which also refreshes their stored facts. No run is recorded: this is a read path.
    """
    as_of = as_of or timezone.now()
    facts, _events = facts_service.facts_for_customers(
        venue=venue, customers=[customer], cutoff=as_of
    )
    if not facts:
        return None
    predictor = predictor_for(venue=venue, as_of=as_of, run=None)
    row = profile_rows(
        facts, venue=venue, as_of=as_of, computed_at=timezone.now(), predictor=predictor
    )[0]
    profile = profile_instance(venue=venue, row=row)
    if not store:
        return profile
    return _store_single(profile)


def _store_single(profile: CustomerProfile) -> CustomerProfile:
    try:
        with venue_unlocked_write(
            profile.venue_id, row_lock_timeout=SINGLE_STORE_LOCK_TIMEOUT
        ) as free:
            if not free:
                # A run of the venue is writing every profile anyway.
                return profile
            return profile_upsert_one(profile=profile)
    except LockNotAcquired:
        logger.info("single_profile_store_skipped venue=%s reason=lock_timeout", profile.venue_id)
        profile.pk = None
        return profile
