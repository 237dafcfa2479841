import pytest
from django.db import IntegrityError

from tests.factories import EventFactory


@pytest.mark.django_db
def test_event_id_is_unique_per_venue(venue):
    EventFactory(venue=venue, event_id="e1", page_view=True)
    with pytest.raises(IntegrityError):
        EventFactory(venue=venue, event_id="e1", page_view=True)


@pytest.mark.django_db
def test_the_same_event_id_may_come_from_two_venues(venue):
    EventFactory(venue=venue, event_id="e1")
    EventFactory(event_id="e1")
