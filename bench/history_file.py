"""A synthetic history export, as a venue's old system would write it: the benchmarks' file."""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

TYPES = [
    ("ticket.purchased", 30),
    ("page.viewed", 30),
    ("cart.added", 10),
    ("campaign.clicked", 10),
    ("email.opened", 10),
    ("ticket.scanned", 8),
    ("ticket.refunded", 2),
]
CATEGORIES = ["concert", "comedy", "theatre", "family", "sport", "festival"]
CHANNELS = ["web", "email", "social", "app", "partner"]
CAMPAIGNS = ["", "", "spring-sale", "vip-presale", "newsletter-42", "retarget"]
START = datetime(2023, 6, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)


def history_write(
    path: Path, *, fields: Sequence[str], rows: int, customers: int, known_share: float = 0.9
) -> None:
    """`rows` lines over three years; `known_share` of them by `bench-customer-N` (the ids
    demo_data gives a venue's customers), the rest by new ones. Event ids are new on every
    call, so a second file is not a replay of the first."""
    rng = random.Random(20260115)
    tag = f"hist-{time.time_ns()}"
    types = [name for name, weight in TYPES for _ in range(weight)]
    span_minutes = int((END - START).total_seconds() // 60)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for n in range(rows):
            event_type = rng.choice(types)
            paying = event_type in ("ticket.purchased", "ticket.refunded")
            occurred = START + timedelta(minutes=rng.randrange(span_minutes))
            number = rng.randrange(customers)
            known = rng.random() < known_share
            writer.writerow(
                [
                    f"{tag}-{n}",
                    f"bench-customer-{number}" if known else f"new-customer-{number}",
                    event_type,
                    occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"{rng.randrange(1000, 25000) / 100:.2f}" if paying else "",
                    rng.randrange(1, 5) if paying else "",
                    "USD" if paying else "",
                    rng.choice(CATEGORIES),
                    rng.choice(CHANNELS),
                    rng.choice(CAMPAIGNS),
                    '{"seat":"B12","gate":3}' if n % 10 == 0 else "",
                ]
            )
