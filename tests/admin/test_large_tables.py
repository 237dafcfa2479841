"""The event and profile changelists never COUNT(*) a big table on an unfiltered page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customer_intel.admin.paginators import EstimatedCountPaginator
from customer_intel.models import CustomerEvent, CustomerProfile, Venue
from tests.factories import EventFactory, ProfileFactory, VenueFactory

pytestmark = pytest.mark.django_db

EVENTS = CustomerEvent._meta.db_table
PROFILES = CustomerProfile._meta.db_table
# Big enough to be treated as large once the threshold below is lowered to it, small enough
# to insert in well under a second.
ROWS = 3_000
THRESHOLD = 1_000


@pytest.fixture
def large_table_threshold(monkeypatch):
    """Treat tables from THRESHOLD rows up as large, as production does from 10,000."""
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below_rows", THRESHOLD)


# The table name is the model's own, not input.
INSERT_EVENTS_SQL = f"""
INSERT INTO {EVENTS} (venue_id, event_id, customer, type, occurred_at, amount, quantity,
    event_category, channel, campaign, properties, received_at)
SELECT %s, 'bulk-' || n, lpad(to_hex(mod(n, 500)), 64, '0'), 'page.viewed',
       now() - n * interval '1 minute', NULL, 1, 'concert', 'web', '', '{{}}', now()
FROM generate_series(1, %s) AS n
"""  # noqa: S608


def insert_events(venue: Venue, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENTS_SQL, [venue.pk, rows])
        # Planner statistics, as autovacuum keeps them on a live table.
        cursor.execute(f"ANALYZE {EVENTS}")


def insert_profiles(venue: Venue, rows: int) -> None:
    now = timezone.now()
    CustomerProfile.objects.bulk_create(
        [
            CustomerProfile(
                venue=venue,
                customer=f"{n:064x}",
                first_seen=now,
                last_seen=now,
                segment="new",
                rfm_segment="Prospects",
                as_of=now,
                computed_at=now,
            )
            for n in range(rows)
        ],
        batch_size=1_000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {PROFILES}")


def counts_of(table: str, queries: CaptureQueriesContext) -> list[str]:
    """The captured queries that count rows of `table`."""
    pattern = re.compile(rf'COUNT\(.*FROM "{table}"', re.IGNORECASE | re.DOTALL)
    return [q["sql"] for q in queries.captured_queries if pattern.search(q["sql"])]


@pytest.mark.usefixtures("large_table_threshold")
def test_unfiltered_event_list_uses_the_table_estimate(admin_client):
    insert_events(VenueFactory(), ROWS)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:customer_intel_customerevent_changelist"))

    assert response.status_code == 200
    assert counts_of(EVENTS, queries) == []
    assert any("reltuples" in q["sql"] for q in queries.captured_queries)
    cl = response.context["cl"]
    assert cl.paginator.count_is_estimated
    # ANALYZE of a table this small reads every row: the estimate is the row count.
    assert cl.result_count == ROWS
    assert len(cl.result_list) == cl.list_per_page


@pytest.mark.usefixtures("large_table_threshold")
def test_unfiltered_profile_list_uses_the_table_estimate(admin_client):
    insert_profiles(VenueFactory(), ROWS)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:customer_intel_customerprofile_changelist"))

    assert response.status_code == 200
    assert counts_of(PROFILES, queries) == []
    assert response.context["cl"].result_count == ROWS
    assert len(response.context["cl"].result_list) == response.context["cl"].list_per_page


@pytest.mark.usefixtures("large_table_threshold")
def test_filtered_event_list_counts_exactly(admin_client):
    venue, quiet_venue = VenueFactory(), VenueFactory()
    insert_events(venue, ROWS)
    EventFactory(venue=quiet_venue, page_view=True)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(
            reverse("admin:customer_intel_customerevent_changelist"),
            {"venue__id__exact": quiet_venue.pk},
        )

    cl = response.context["cl"]
    assert len(counts_of(EVENTS, queries)) == 1
    assert not cl.paginator.count_is_estimated
    assert cl.result_count == 1
    # No second "N total" count of the whole table next to the filtered one.
    assert cl.full_result_count is None


def test_small_table_is_counted_exactly_even_unfiltered(admin_client):
    insert_events(VenueFactory(), 7)

    response = admin_client.get(reverse("admin:customer_intel_customerevent_changelist"))

    cl = response.context["cl"]
    assert not cl.paginator.count_is_estimated
    assert cl.result_count == 7


def test_a_count_past_the_timeout_falls_back_to_the_planner_estimate():
    venue = VenueFactory()
    for n in range(3):
        ProfileFactory(venue=venue, customer=f"{n:064x}")
    # A filter that cannot finish within the count timeout: it sleeps 50 ms.
    slow = CustomerProfile.objects.filter(
        RawSQL("(SELECT true FROM pg_sleep(0.05))", [], output_field=BooleanField())
    ).order_by("-id")
    paginator = EstimatedCountPaginator(slow, 100, minimum_estimate=201)
    paginator.count_timeout_ms = 10
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        timeout_before = cursor.fetchone()[0]

    count = paginator.count

    assert paginator.count_is_estimated
    # An estimate never claims the result fits on one page or within "show all".
    assert count >= 201
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == timeout_before
        # The connection is usable after the cancelled count.
        cursor.execute("SELECT 1")


def test_the_timeout_does_not_outlive_a_successful_count():
    VenueFactory()
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        timeout_before = cursor.fetchone()[0]

    assert (
        EstimatedCountPaginator(Venue.objects.filter(name__startswith="V").order_by("pk"), 10).count
        == 1
    )

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == timeout_before


def test_pages_offered_are_capped():
    paginator = EstimatedCountPaginator(Venue.objects.order_by("pk"), 100)
    paginator.count = 9_000_000  # as estimated for the event log in production

    assert paginator.num_pages == EstimatedCountPaginator.max_pages
    assert list(paginator.get_elided_page_range(1))[-1] == EstimatedCountPaginator.max_pages


@pytest.mark.usefixtures("large_table_threshold")
def test_a_page_past_the_cap_is_refused_not_scanned(admin_client, monkeypatch):
    insert_events(VenueFactory(), ROWS)  # 30 pages of 100
    monkeypatch.setattr(EstimatedCountPaginator, "max_pages", 10)
    url = reverse("admin:customer_intel_customerevent_changelist")

    last_offered = admin_client.get(url, {"p": 10})
    past_the_cap = admin_client.get(url, {"p": 11})

    assert last_offered.status_code == 200
    assert len(last_offered.context["cl"].result_list) == 100
    assert past_the_cap.status_code == 302
    assert "e=1" in past_the_cap["Location"]
