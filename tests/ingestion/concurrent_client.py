"""Posts one batch through the real API stack from its own process (its own DB connection).

Run as `python -m tests.ingestion.concurrent_client VENUE_ID TOKEN FIRST COUNT [--reverse]`
with TEST_DATABASE_URL pointing at the test database. It prints "ready" once Django is set up,
waits for a line on stdin, posts, and prints the status and JSON answer.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from rest_framework.test import APIClient

    from tests.ingestion.conftest import event_payload

    venue_id, token, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    events = [event_payload(n) for n in range(first, first + count)]
    if "--reverse" in sys.argv:
        events.reverse()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    print("ready", flush=True)
    sys.stdin.readline()
    response = client.post(f"/events/venue/{venue_id}", {"events": events}, format="json")
    print(json.dumps({"status": response.status_code, "body": response.json()}), flush=True)


if __name__ == "__main__":
    main()
