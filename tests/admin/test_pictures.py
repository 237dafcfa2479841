"""The venue pages' pictures draw the cache's numbers: read back from the SVG, not pixels."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count

from customer_intel.analytics.rules import SEGMENTS
from customer_intel.models import CustomerProfile, RunMode, SegmentSnapshot
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import run_recompute
from tests.factories import VenueFactory

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SVG = re.compile(r"<svg [^>]*role='img'.*?</svg>", re.S)  # ours, not the admin's icons
NS = "{http://www.w3.org/2000/svg}"


def _purchase(raw_id: str, when: datetime, n: int) -> ValidatedEvent:
    return ValidatedEvent(
        event_id=f"{raw_id}-{n}",
        customer=pseudonymize(raw_id),
        type="ticket.purchased",
        occurred_at=when,
        amount=Decimal("25.00") * (n + 1),
        quantity=1,
    )


@pytest.fixture
def venue(db):
    venue = VenueFactory(name="Pictured Hall", currency="EUR", timezone="Europe/Paris")
    events = []
    for i in range(12):
        events += [
            _purchase(f"c{i}", AS_OF - timedelta(days=5 + 37 * i + 20 * k), k)
            for k in range(1 + i % 4)
        ]
    ingest_events(venue=venue, events=events)
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=AS_OF - timedelta(days=30))
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=AS_OF)
    return venue


def _charts(html: str) -> dict[str, ET.Element]:
    charts = {}
    for text in SVG.findall(html):
        root = ET.fromstring(text)
        charts[root.find(NS + "title").text] = root
    return charts


def _marks(chart: ET.Element, tag: str = "rect") -> list[ET.Element]:
    return [
        e for e in chart.iter(NS + tag) if "data-value" in e.attrib or "data-series" in e.attrib
    ]


def test_venue_page_draws_the_venues_numbers(venue, admin_client):
    response = admin_client.get(f"/admin/customer_intel/venue/{venue.pk}/change/")
    assert response.status_code == 200
    charts = _charts(response.content.decode())
    assert set(charts) == {
        "Customers by segment",
        "RFM grid: customers by recency and frequency score",
        "Segment sizes over the last 90 days",
        "Customers moving between segments",
        "Predicted 3-year lifetime value (model, EUR)",
        "P(alive): probability the customer still buys",
    }
    snapshot = SegmentSnapshot.objects.get(venue=venue)
    bars = _marks(charts["Customers by segment"])
    assert {b.get("data-label"): int(float(b.get("data-value"))) for b in bars} == {
        name: snapshot.segment_counts[name] for name in SEGMENTS
    }

    grid = Counter(
        {
            (f"R{r}", f"F{f}"): n
            for r, f, n in CustomerProfile.objects.filter(venue=venue, recency_score__isnull=False)
            .values_list("recency_score", "frequency_score")
            .annotate(n=Count("id"))
        }
    )
    cells = _marks(charts["RFM grid: customers by recency and frequency score"])
    assert len(cells) == 25
    drawn = Counter(
        {(c.get("data-row"), c.get("data-column")): int(float(c.get("data-value"))) for c in cells}
    )
    assert +drawn == +grid

    flows = _marks(charts["Customers moving between segments"])
    assert sum(int(float(c.get("data-value"))) for c in flows) == snapshot.total_customers


def test_overview_draws_every_picture_of_every_venue(venue, admin_client):
    other = VenueFactory(name="Empty Venue")
    page = admin_client.get(f"/admin/customer_intel/venue/{venue.pk}/change/").content.decode()
    response = admin_client.get("/admin/customer_intel/venue/overview/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Pictured Hall" in html and other.name in html
    assert "No data yet." in html  # the venue with no run says so instead of drawing nothing
    # The venue's section holds exactly the pictures of its own page, with the same numbers.
    section = html[html.index("Pictured Hall</a>") :]
    section = section[: section.index("</section>")]
    assert SVG.findall(section) == SVG.findall(page)
    assert "Model fit:" in section


def test_overview_needs_staff(venue, client):
    response = client.get("/admin/customer_intel/venue/overview/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
