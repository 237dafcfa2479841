"""Building blocks shared by the admin's pages.

The event log and the profile cache hold millions of rows, so their pages never COUNT(*) the
whole table (admin.paginators), never offer a select box or a filter that lists every customer,
and search only by exact customer: a pseudonym, or a raw id hashed on arrival and replaced in
the URL by its pseudonym so that it is never echoed back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from customer_intel.admin.paginators import EstimatedCountPaginator
from customer_intel.models import (
    Venue,
)
from customer_intel.privacy import is_pseudonym, resolve_customer_id

ERROR_PREVIEW_CHARS = 80
# The query parameter of the admin's venue filter (a RelatedFieldListFilter on "venue").
VENUE_FILTER_PARAM = "venue__id__exact"
PSEUDONYM_PREVIEW_CHARS = 12


def pretty_json(value: Any) -> str:
    """A JSON value as an indented, escaped <pre> block for a read-only detail page."""
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


def text_preview(text: str) -> str:
    """The start of a long text (an error) for a list column."""
    if len(text) <= ERROR_PREVIEW_CHARS:
        return text
    return text[:ERROR_PREVIEW_CHARS] + "…"


def venue_time(value: datetime | None, venue: Venue) -> str:
    """An instant as the venue's local time, its zone abbreviated: "2026-03-01 07:00 EST"."""
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(venue.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def local_time(field: str, description: str) -> Any:
    """A list column showing the instant `field` as its row's venue's local time."""

    @admin.display(description=f"{description} (venue time)", ordering=field)
    def show(model_admin: Any, obj: Any) -> str:
        return venue_time(getattr(obj, field), obj.venue)

    return show


def readable_list(items: list[Any]) -> str:
    """A list of texts as an HTML list, or "-" when it is empty."""
    if not items:
        return "-"
    return format_html(
        '<ol style="margin: 0; padding-left: 1.5em">{}</ol>',
        format_html_join("", "<li>{}</li>", ((item,) for item in items)),
    )


def rounded(field: str, digits: int, description: str) -> Any:
    """A display of a float field to `digits` decimals ("-" when empty), sortable by it."""

    @admin.display(description=description, ordering=field)
    def show(model_admin: Any, obj: Any) -> str:
        value = getattr(obj, field)
        return "-" if value is None else f"{value:.{digits}f}"

    return show


class VenueTimeZoneMixin:
    """A row's page (or a venue's own) shows its times in the venue's time zone, and its
    subtitle says which.

    Lists show rows of several venues at once; their time columns use `venue_time` per row.
    """

    def render_change_form(  # type: ignore[no-untyped-def]
        self, request: HttpRequest, context: dict[str, Any], add=False, change=False,
        form_url="", obj=None,
    ) -> HttpResponse:  # fmt: skip
        render = super().render_change_form  # type: ignore[misc]
        if obj is None:  # the add page: no venue yet
            return render(request, context, add, change, form_url, obj)
        zone = obj.timezone if isinstance(obj, Venue) else obj.venue.timezone
        context["subtitle"] = f"{obj} · times in {zone}, the venue's time zone"
        with timezone.override(ZoneInfo(zone)):
            response = render(request, context, add, change, form_url, obj)
            # The page renders lazily; render it while the venue's zone is the current one.
            response.render()
        return response


def short_pseudonym(pseudonym: str) -> str:
    return f"{pseudonym[:PSEUDONYM_PREVIEW_CHARS]}…"


def all_venue_ids() -> list[Any]:
    """Every venue id. Venues are few; naming them all lets PostgreSQL use the
    (venue, ...)-prefixed indexes for a lookup that does not otherwise name a venue."""
    return list(Venue.objects.values_list("pk", flat=True))


def changelist_url(model: type, **params: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


class ReadOnlyAdminMixin:
    """Viewing only: these rows are written by ingestion and the recompute, never by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LargeTableAdminMixin:
    """Changelist settings for tables with millions of rows."""

    class Media:
        css = {"all": ("customer_intel/admin_tables.css",)}

    paginator = EstimatedCountPaginator
    # The "N total" next to a search result would COUNT(*) the whole table.
    show_full_result_count = False
    # Facet counts are a GROUP BY over the whole table per filter.
    show_facets = admin.ShowFacets.NEVER

    def get_paginator(  # type: ignore[no-untyped-def]
        self, request, queryset, per_page, orphans=0, allow_empty_first_page=True
    ):
        # An estimate must never claim the result fits on one page (or within "show all"):
        # the admin would then load the unsliced queryset.
        minimum = max(per_page, self.list_max_show_all) + 1  # type: ignore[attr-defined]
        return self.paginator(
            queryset, per_page, orphans, allow_empty_first_page, minimum_estimate=minimum
        )


class CustomerSearchAdminMixin:
    """Search by exact customer: a pseudonym, or a raw id that is hashed on arrival.

    A raw id in the search box is answered with a redirect to the same page searching for its
    pseudonym, so the page (search box, filter links, preserved filters) never echoes it.
    """

    # Only makes the search box appear; the lookup is get_search_results, never a LIKE scan.
    search_fields = ("customer",)
    search_help_text = "Exact customer id or 64-character pseudonym."

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        term = request.GET.get(SEARCH_VAR)
        if term is not None:
            stripped = term.strip()
            if stripped != term or (stripped and not is_pseudonym(stripped)):
                params = request.GET.copy()
                params[SEARCH_VAR] = resolve_customer_id(stripped) if stripped else ""
                return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        pseudonym = resolve_customer_id(term)
        return queryset.filter(venue_id__in=all_venue_ids(), customer=pseudonym), False


class CustomerColumnMixin:
    @admin.display(description="customer")
    def customer_short(self, obj: Any) -> str:
        return short_pseudonym(obj.customer)
