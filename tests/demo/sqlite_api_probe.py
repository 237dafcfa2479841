"""Calls every read endpoint the demo prints, on the embedded SQLite default, and prints the
status codes as JSON.

Started by test_demo_api_sqlite.py in a subprocess whose DATABASE_URL points at a scratch
SQLite file that `demo_data` has just filled, so the API is exercised as a new user meets it.
"""

from __future__ import annotations

import json
import sys

import django

django.setup()

from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from customer_intel.models import CustomerProfile, Venue  # noqa: E402


def main() -> None:
    token = Token.objects.get(user__username="demo").key
    venue = Venue.objects.order_by("name").first()
    customer = CustomerProfile.objects.filter(venue=venue).values_list("customer", flat=True)[0]
    base = f"/customers/venue/{venue.pk}"
    paths = {
        "segments": f"{base}/segments",
        "segments_rfm": f"{base}/segments?by=rfm",
        "profile_by_pseudonym": f"{base}/{customer}",
        "profile_by_raw_id": f"{base}/demo-customer-1",
        "insights": f"{base}/{customer}/insights",
        "journey": f"{base}/{customer}/journey?pageSize=5",
        "rfm": f"{base}/{customer}/rfm",
        "clv": f"{base}/{customer}/clv",
        "search": f"{base}/search?segment=vip&ordering=-totalSpent&pageSize=5",
        "search_csv": f"{base}/search?segment=vip&format=csv",
        "unknown_customer": f"{base}/no-such-customer",
        "health": "/health",
    }
    # A server error is reported as its status, not raised: the test lists every endpoint.
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
    statuses = {name: client.get(path).status_code for name, path in paths.items()}
    json.dump(statuses, sys.stdout)


if __name__ == "__main__":
    main()
