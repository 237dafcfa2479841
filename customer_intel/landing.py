"""The front door: what this service is and where its documentation and tools live."""

from __future__ import annotations

from django.views.generic import TemplateView


class LandingView(TemplateView):
    """`/`: a small page for a person who opens the service in a browser."""

    template_name = "customer_intel/landing.html"
