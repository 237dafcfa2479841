"""The pictures of the venue pages: each venue's figures drawn, and an overview of all venues.

The SVG is drawn on the server (customer_intel.charts) and inlined in the page: nothing is
loaded from another host, and a screenshot or a print shows exactly what the data says.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from customer_intel.analytics.predictive.models import MODELS
from customer_intel.analytics.predictive.selection import BY_LOG_LIKELIHOOD, FORCED
from customer_intel.models import PredictionModelFit, Venue
from customer_intel.trends.pictures import Picture, venue_pictures


def _figure(picture: Picture) -> SafeString:
    # The SVG is ours: every text in it went through an XML escape when it was drawn.
    return format_html(
        '<figure class="ci-picture"><figcaption><strong>{}</strong> {}</figcaption>{}</figure>',
        picture.title,
        picture.caption,
        mark_safe(picture.svg),  # noqa: S308
    )


def fit_in_words(venue: Venue) -> str:
    """Which purchase model the venue's last fit uses, why, and how well each candidate did on
    the holdout, in a sentence or two."""
    fit = PredictionModelFit.objects.filter(venue=venue).order_by("-fitted_at", "-id").first()
    if fit is None:
        return "No model has been fitted yet: the next full run fits one."
    if not fit.usable:
        return f"No usable model at the last fit: {fit.reason or 'no reason recorded'}."
    label = MODELS[fit.model].label if fit.model in MODELS else fit.model or "A purchase model"
    text = (
        f"{label} with Gamma-Gamma for spend, fitted on {fit.customers_used:,} customers "
        f"({fit.repeat_customers:,} of whom bought again)."
    )
    selection = fit.selection or {}
    scored = {
        candidate["model"]: candidate["holdout_mae"]
        for candidate in selection.get("candidates", [])
        if candidate.get("holdout_mae") is not None
    }
    basis = selection.get("basis")
    if basis == FORCED:
        text += " The venue's setting forces this model."
    elif basis == BY_LOG_LIKELIHOOD:
        text += " Chosen by likelihood: the history is too short to hold a part out."
    if fit.model in scored:
        days = selection.get("holdout_days")
        held_out = f"On the last {days} days held out" if days else "On its holdout"
        text += (
            f" {held_out} it missed each customer's purchases by {scored[fit.model]:.2f} on average"
        )
        others = [
            f"{MODELS[name].label} {mae:.2f}"
            for name, mae in scored.items()
            if name != fit.model and name in MODELS
        ]
        text += f" ({', '.join(others)})." if others else "."
    return text


def pictures_html(venue: Venue) -> SafeString:
    figures = format_html_join("", "{}", ((_figure(p),) for p in venue_pictures(venue)))
    return format_html(
        '<div class="ci-pictures"><p class="ci-fit"><strong>Model fit:</strong> {}</p>{}</div>',
        fit_in_words(venue),
        figures,
    )


class VenuePicturesMixin:
    """Adds the pictures to a venue's page, and an overview page with every venue's pictures
    side by side."""

    def get_urls(self) -> list[URLPattern]:
        site: admin.AdminSite = self.admin_site  # type: ignore[attr-defined]
        own = [
            path(
                "overview/",
                site.admin_view(self.overview_view),
                name="customer_intel_venue_overview",
            ),
        ]
        return own + super().get_urls()  # type: ignore[misc]

    @admin.display(description="Pictures")
    def pictures(self, venue: Venue) -> SafeString:
        if venue.pk is None:
            return mark_safe("")
        return pictures_html(venue)

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise Http404
        rows: list[dict[str, Any]] = []
        for venue in Venue.objects.order_by("name"):
            rows.append(
                {
                    "venue": venue,
                    "url": reverse("admin:customer_intel_venue_change", args=[venue.pk]),
                    "pictures": pictures_html(venue),
                }
            )
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": "Venues at a glance",
            "rows": rows,
            "opts": Venue._meta,
        }
        return TemplateResponse(request, "admin/customer_intel/venue/overview.html", context)
