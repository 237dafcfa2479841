"""`manage.py demo_data` against real PostgreSQL: what it writes, re-runs, and the recompute."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.authtoken.models import Token

from customer_intel.demo import DEMO_VENUES
from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    EventType,
    PendingCustomer,
    Segment,
    SegmentSnapshot,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import pseudonymize

pytestmark = pytest.mark.django_db

END = "2026-06-01T12:00:00+00:00"


def demo_data(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", *args, verbosity=0, stdout=out, stderr=StringIO())
    return out.getvalue()


def event_multiset(venue_name: str) -> Counter:
    rows = CustomerEvent.objects.filter(venue__name=venue_name).values_list(
        "event_id", "customer", "type", "occurred_at", "amount"
    )
    return Counter(rows)


def test_same_seed_gives_identical_events_and_another_seed_different_ones():
    first_output = demo_data("--seed", "21", "--venues", "1", "--end", END, "--no-recompute")
    first_id = Venue.objects.get(name="Harbour Hall").pk
    first = event_multiset("Harbour Hall")
    again_output = demo_data(
        "--seed", "21", "--venues", "1", "--end", END, "--no-recompute", "--reset"
    )  # fmt: skip
    again_id = Venue.objects.get(name="Harbour Hall").pk
    again = event_multiset("Harbour Hall")
    demo_data("--seed", "22", "--venues", "1", "--end", END, "--no-recompute", "--reset")
    other_id = Venue.objects.get(name="Harbour Hall").pk
    other = event_multiset("Harbour Hall")

    # The same seed keeps the venue's id across a reset, so printed curl lines stay valid.
    assert again_id == first_id != other_id
    curl_lines = [line for line in first_output.splitlines() if "curl" in line]
    assert curl_lines and all(str(first_id) in line for line in curl_lines)
    assert [line for line in again_output.splitlines() if "curl" in line] == curl_lines

    assert len(first) > 10_000
    assert first == again
    # Event ids carry the seed; the events themselves must differ too.
    assert Counter(key[1:] for key in first.elements()) != Counter(
        key[1:] for key in other.elements()
    )
    assert Venue.objects.filter(name="Harbour Hall").count() == 1


def test_demo_venues_have_every_segment_after_the_recompute():
    output = demo_data()

    venues = list(Venue.objects.filter(name__in=[p.name for p in DEMO_VENUES]))
    assert sorted((v.name, v.timezone, v.currency) for v in venues) == sorted(
        (p.name, p.timezone, p.currency) for p in DEMO_VENUES[:3]
    )
    for venue in venues:
        segments = set(
            CustomerProfile.objects.filter(venue=venue).values_list("segment", flat=True)
        )
        assert segments == set(Segment.values), venue.name
        snapshot = SegmentSnapshot.objects.get(venue=venue)
        assert all(snapshot.segment_counts.get(s, 0) > 0 for s in Segment.values)
        customers = CustomerEvent.objects.filter(venue=venue).values("customer").distinct()
        assert CustomerProfile.objects.filter(venue=venue).count() == customers.count()
        assert not PendingCustomer.objects.filter(venue=venue).exists()

    # The demo user can call the API on every venue, and the printed curl uses its token.
    token = Token.objects.get(user__username="demo")
    assert not token.user.has_usable_password()
    assert not token.user.is_staff
    assert VenueMembership.objects.filter(user=token.user, can_write=True).count() == 3
    assert f'curl -H "Authorization: Token {token.key}"' in output
    for venue in venues:
        assert str(venue.pk) in output
    profile_url = re.search(r"/customers/venue/([0-9a-f-]{36})/(demo-customer-\d+)\s", output)
    assert profile_url is not None
    venue_id, raw_id = profile_url.groups()
    sample = CustomerProfile.objects.get(venue_id=venue_id, customer=pseudonymize(raw_id))
    assert sample.total_purchases > 1


def test_every_event_type_is_present_and_refunds_stay_within_purchases():
    demo_data("--seed", "4", "--end", END, "--no-recompute")

    counts = Counter(CustomerEvent.objects.values_list("type", flat=True))
    assert set(counts) == set(EventType.values)
    assert 0.01 < counts[EventType.TICKET_REFUNDED] / counts[EventType.TICKET_PURCHASED] < 0.06
    clicks = CustomerEvent.objects.filter(type=EventType.CAMPAIGN_CLICKED)
    assert set(clicks.values_list("channel", flat=True)) == {"email", "social", "search"}
    assert not clicks.filter(campaign="").exists()
    purchases = CustomerEvent.objects.filter(type=EventType.TICKET_PURCHASED)
    assert set(purchases.values_list("channel", flat=True)) == {
        "email",
        "social",
        "search",
        "direct",
    }
    assert set(purchases.values_list("event_category", flat=True)) == {
        "concert",
        "comedy",
        "theatre",
        "sports",
        "family",
        "festival",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT customer,
                       sum(amount) FILTER (WHERE type = 'ticket.purchased') AS paid,
                       coalesce(sum(amount) FILTER (WHERE type = 'ticket.refunded'), 0) AS back
                FROM customer_intel_customerevent GROUP BY venue_id, customer
            ) t WHERE back > coalesce(paid, 0)
            """
        )
        assert cursor.fetchone()[0] == 0
    # Written outside ingestion, so every customer is marked for the next run.
    for venue in Venue.objects.all():
        distinct = CustomerEvent.objects.filter(venue=venue).values("customer").distinct()
        assert PendingCustomer.objects.filter(venue=venue).count() == distinct.count()


def test_no_raw_customer_id_is_stored():
    demo_data("--seed", "8", "--venues", "1", "--end", END, "--no-recompute")

    customers = set(CustomerEvent.objects.values_list("customer", flat=True))
    assert pseudonymize("demo-customer-1") in customers
    assert all(re.fullmatch(r"[0-9a-f]{64}", customer) for customer in customers)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM customer_intel_customerevent "
            "WHERE event_id LIKE '%%customer%%' OR properties::text LIKE '%%customer%%'"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM customer_intel_pendingcustomer WHERE customer LIKE '%%-%%'"
        )
        assert cursor.fetchone()[0] == 0


def test_benchmark_sizes_are_exact():
    assert connection.vendor == "postgresql"  # so the COPY path is the one under test
    output = demo_data("--customers", "2000", "--events", "18000", "--venues", "2", "--end", END)

    venues = {v.name: v for v in Venue.objects.all()}
    assert set(venues) == {"Bench Arena", "Bench Annex 1"}
    assert CustomerEvent.objects.count() == 18_000
    assert CustomerEvent.objects.values("customer").distinct().count() == 2_000
    assert CustomerEvent.objects.filter(venue=venues["Bench Annex 1"]).count() == 180
    assert PendingCustomer.objects.count() == 2_000
    # Not recomputed unless asked: the output says how.
    assert not CustomerProfile.objects.exists()
    assert f"manage.py recompute {venues['Bench Arena'].pk} --full" in output


def test_running_again_is_a_no_op_and_foreign_events_are_refused():
    demo_data("--seed", "9", "--venues", "1", "--end", END, "--no-recompute")
    before = CustomerEvent.objects.count()
    output = demo_data("--seed", "9", "--venues", "1", "--end", END, "--no-recompute")
    assert CustomerEvent.objects.count() == before
    assert "present" in output

    with pytest.raises(CommandError, match="--reset"):
        demo_data("--seed", "10", "--venues", "1", "--end", END, "--no-recompute")
    assert CustomerEvent.objects.count() == before


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--customers", "100", "--events", "50"], "--events"),
        (["--customers", "0"], "--customers"),
        (["--venues", "9"], "--venues"),
        (["--years", "0"], "--years"),
        (["--end", "yesterday"], "--end"),
        (["--end", "2026-01-01T00:00:00"], "--end"),
        (["--end", "2999-01-01T00:00:00Z"], "--end"),
    ],
)
def test_bad_options_name_the_option_and_write_nothing(args, option):
    with pytest.raises(CommandError, match=re.escape(option)):
        demo_data(*args)
    assert not Venue.objects.exists()
    assert not CustomerEvent.objects.exists()


def test_a_chunk_is_stored_event_for_event_with_its_customers_marked():
    from datetime import UTC, datetime
    from decimal import Decimal

    from django.utils import timezone

    from customer_intel import demo as gen
    from customer_intel.services import demo_data as writer
    from tests.factories import VenueFactory

    plan = gen.plan_dataset(seed=5, end=datetime(2026, 6, 1, tzinfo=UTC), venues=1)
    venue_plan = plan.venues[0]
    calendar = gen.build_calendar(timezone=venue_plan.timezone, start=plan.start, end=plan.end)
    chunk = next(gen.iter_venue_chunks(plan=plan, venue=venue_plan, calendar=calendar))
    pseudonyms = writer._pseudonyms(plan, chunk)
    venue = VenueFactory()
    writer._chunk_write(venue, "e-", 0, chunk, pseudonyms, timezone.now())

    def name(names: tuple[str, ...], code: int) -> str:
        return names[code] if code >= 0 else ""

    expected = Counter(
        (
            f"e-{i}",
            pseudonyms[chunk.customer[i] - chunk.first_customer],
            gen.EVENT_TYPES[chunk.type[i]],
            datetime.fromtimestamp(int(chunk.occurred_at[i]), tz=UTC),
            None if chunk.amount_cents[i] < 0 else Decimal(int(chunk.amount_cents[i])) / 100,
            int(chunk.quantity[i]),
            name(gen.CATEGORIES, chunk.category[i]),
            name(gen.CHANNELS, chunk.channel[i]),
            name(gen.CAMPAIGNS, chunk.campaign[i]),
        )
        for i in range(len(chunk))
    )
    stored = Counter(
        CustomerEvent.objects.filter(venue=venue).values_list(
            "event_id", "customer", "type", "occurred_at", "amount", "quantity",
            "event_category", "channel", "campaign",
        )
    )  # fmt: skip

    assert len(chunk) > 1000
    assert stored == expected
    assert not CustomerEvent.objects.exclude(properties={}).exists()
    assert set(PendingCustomer.objects.filter(venue=venue).values_list("customer", flat=True)) == {
        pseudonyms[c - chunk.first_customer] for c in set(chunk.customer.tolist())
    }


def test_benchmark_sizes_are_recomputed_when_asked():
    demo_data("--customers", "300", "--events", "2000", "--end", END, "--recompute")

    venue = Venue.objects.get(name="Bench Arena")
    assert CustomerProfile.objects.filter(venue=venue).count() == 300
    assert not PendingCustomer.objects.filter(venue=venue).exists()


@pytest.mark.django_db(transaction=True)
def test_a_reset_waits_for_a_load_in_progress_and_then_removes_it():
    import threading
    import time

    import psycopg

    from customer_intel.services.demo_data import demo_venues_delete

    venue = Venue.objects.create(name="Harbour Hall")
    db = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]
    )
    # A load in progress, on its own connection: the venue's row lock and an uncommitted event.
    loader = psycopg.connect(conninfo)
    loader.execute("SELECT 1 FROM customer_intel_venue WHERE id = %s FOR UPDATE", [venue.pk])
    loader.execute(
        "INSERT INTO customer_intel_customerevent (venue_id, event_id, customer, type, "
        "occurred_at, quantity, event_category, channel, campaign, properties, received_at) "
        "VALUES (%s, 'e1', %s, 'page.viewed', now(), 1, '', '', '', '{}', now())",
        [venue.pk, "a" * 64],
    )
    saw_reset_waiting = threading.Event()

    def commit_the_load_once_the_reset_waits() -> None:
        with psycopg.connect(conninfo, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchone()[0]
                if waiting:
                    saw_reset_waiting.set()
                    break
                time.sleep(0.05)
        loader.commit()
        loader.close()

    committer = threading.Thread(target=commit_the_load_once_the_reset_waits)
    committer.start()
    demo_venues_delete(names=["Harbour Hall"])
    committer.join(timeout=30)

    assert saw_reset_waiting.is_set()
    assert not Venue.objects.filter(pk=venue.pk).exists()
    assert not CustomerEvent.objects.exists()
