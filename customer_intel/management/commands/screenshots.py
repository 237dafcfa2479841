"""Render the admin's venue pages (with their pictures), the profiles and runs lists and the
richest profile's page to PNG files in headless Chromium.

Each page is rendered by Django for a staff user, written to an HTML file whose static files
point at this machine's copies, and photographed by Chromium with no network: what the PNG
shows is what an operator sees, and nothing in it came from another host.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.urls import reverse

from customer_intel.models import CustomerProfile, Venue

STATIC = re.compile(r"""(["'(])/static/([^"')?#]+)""")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
OPERATOR = "screenshots-operator"


def _local_static(html: str) -> str:
    def replace(match: re.Match[str]) -> str:
        found = finders.find(match.group(2))
        return f"{match.group(1)}file://{found}" if found else match.group(0)

    return STATIC.sub(replace, html)


class Command(BaseCommand):
    help = (
        "Render the venue overview, each venue's page with its pictures, the profiles and runs "
        "lists and a profile's page to PNG files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="screenshots", help="Folder for the PNG files.")
        parser.add_argument("--width", type=int, default=1400)
        parser.add_argument("--height", type=int, default=4200)
        parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")

    def handle(self, *args: Any, **options: Any) -> None:
        if not shutil.which(options["chromium"]):
            raise CommandError("Chromium not found: install Debian's chromium package.")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        user, _ = get_user_model().objects.get_or_create(
            username=OPERATOR, defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        pages = [("overview", reverse("admin:customer_intel_venue_overview"))]
        for venue in Venue.objects.order_by("name"):
            slug = re.sub(r"[^a-z0-9]+", "-", venue.name.lower()).strip("-") or str(venue.pk)
            pages.append(
                (f"venue-{slug}", reverse("admin:customer_intel_venue_change", args=[venue.pk]))
            )
        pages.append(("profiles", reverse("admin:customer_intel_customerprofile_changelist")))
        pages.append(("runs", reverse("admin:customer_intel_recomputerun_changelist")))
        # The profile with the most to show: insights, preferences, predictions.
        profile = CustomerProfile.objects.order_by("-total_spent", "pk").first()
        if profile is not None:
            pages.append(
                (
                    "profile",
                    reverse("admin:customer_intel_customerprofile_change", args=[profile.pk]),
                )
            )
        with tempfile.TemporaryDirectory() as work:
            for name, url in pages:
                response = client.get(url)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
                page = Path(work) / f"{name}.html"
                # Served, the page's encoding is in its Content-Type; a file must say it itself.
                html = _local_static(response.content.decode())
                page.write_text(html.replace("<head>", '<head><meta charset="utf-8">', 1))
                target = out / f"{name}.png"
                subprocess.run(  # noqa: S603 - the operator's own Chromium, no shell
                    [
                        options["chromium"],
                        *CHROMIUM_FLAGS,
                        f"--user-data-dir={Path(work) / 'profile'}",
                        f"--window-size={options['width']},{options['height']}",
                        f"--screenshot={target.resolve()}",
                        page.as_uri(),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                self.stdout.write(f"{target}  ({url})")
        user.delete()
