"""The domain's boundaries: purchase-time buckets by local hour and the local purchase day."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from customer_intel.analytics.vocabulary import local_day_number, purchase_time_bucket

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("hour", "bucket"),
    [
        (0, "morning"),
        (11, "morning"),
        (12, "afternoon"),
        (16, "afternoon"),
        (17, "evening"),
        (23, "evening"),
    ],
)
def test_bucket_of_local_hour(hour, bucket):
    assert purchase_time_bucket(hour) == bucket


def test_the_first_day_is_day_zero():
    assert local_day_number(datetime(1970, 1, 1, 12, 0, tzinfo=UTC), ZoneInfo("UTC")) == 0


def test_the_purchase_day_is_the_local_date_not_the_utc_one():
    # 2026-04-02 03:30 UTC is 2026-04-01 23:30 in New York (EDT, UTC-4).
    late_evening = datetime(2026, 4, 2, 3, 30, tzinfo=UTC)
    same_evening_earlier = datetime(2026, 4, 1, 15, 30, tzinfo=UTC)

    assert local_day_number(late_evening, NEW_YORK) == local_day_number(
        same_evening_earlier, NEW_YORK
    )
    assert local_day_number(late_evening, ZoneInfo("UTC")) == (
        local_day_number(same_evening_earlier, ZoneInfo("UTC")) + 1
    )


def test_days_count_from_1970_across_a_daylight_saving_change():
    # Daylight saving began in New York on 2026-03-08; the days either side are consecutive.
    before = datetime(2026, 3, 8, 4, 59, tzinfo=UTC)  # 03-07 23:59 EST
    after = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 03-08 00:00 EST, 01:00 the day's first hour

    assert local_day_number(after, NEW_YORK) - local_day_number(before, NEW_YORK) == 1
    assert local_day_number(before, NEW_YORK) == (datetime(2026, 3, 7) - datetime(1970, 1, 1)).days
