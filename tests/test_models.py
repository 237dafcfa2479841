import pytest
from django.db import IntegrityError

from customer_intel.models import CustomerEvent, EventType


@pytest.mark.django_db
def test_event_id_is_unique_per_venue(venue):
    kwargs = {
        "venue": venue,
        "event_id": "e1",
        "customer": "a" * 64,
        "type": EventType.PAGE_VIEWED,
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    CustomerEvent.objects.create(**kwargs)
    with pytest.raises(IntegrityError):
        CustomerEvent.objects.create(**kwargs)
