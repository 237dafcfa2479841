"""The operators' admin: venues and their thresholds, the event log, the profile cache, runs.

The event log and the profile cache hold millions of rows, so their pages never COUNT(*) the
whole table (admin_paginators), never offer a select box or a filter that lists every customer,
and search only by exact customer: a pseudonym, or a raw id hashed on arrival and replaced in
the URL by its pseudonym so that it is never echoed back.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timesince import timesince

from customer_intel.admin_paginators import EstimatedCountPaginator
from customer_intel.analytics.rfm import RFM_SEGMENTS
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    PredictionModelFit,
    RecomputeRun,
    RunMode,
    RunStatus,
    Segment,
    SegmentSnapshot,
    Venue,
    VenueMembership,
)
from customer_intel.privacy import is_pseudonym, resolve_customer_id
from customer_intel.services.live_as_of import with_live_as_of

ERROR_PREVIEW_CHARS = 80
# A live as-of this far before the run that computed it is shown as back-dated.
BACK_DATED_AFTER = timedelta(hours=1)
# The query parameter of the admin's venue filter (a RelatedFieldListFilter on "venue").
VENUE_FILTER_PARAM = "venue__id__exact"
PSEUDONYM_PREVIEW_CHARS = 12


# ---------------------------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------------------------


def pretty_json(value: Any) -> str:
    """A JSON value as an indented, escaped <pre> block for a read-only detail page."""
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


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


# ---------------------------------------------------------------------------------------------
# Venues and access
# ---------------------------------------------------------------------------------------------


class VenueAdminForm(forms.ModelForm):
    """Venue settings with the checks the recompute relies on, each error on its field."""

    class Meta:
        model = Venue
        fields = "__all__"  # noqa: DJ007 - the fieldsets choose and group what is shown

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"].strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise forms.ValidationError(
                "Unknown time zone: use an IANA name such as Europe/Paris."
            ) from error
        return name

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise forms.ValidationError("Use a three-letter ISO 4217 code such as EUR.")
        return code

    def clean_vip_min_spent(self) -> Any:
        value = self.cleaned_data["vip_min_spent"]
        if value is not None and value < 0:
            raise forms.ValidationError("Must be zero or more.")
        return value

    def clean_vip_min_frequency(self) -> float:
        return self._non_negative("vip_min_frequency")

    def clean_regular_min_frequency(self) -> float:
        return self._non_negative("regular_min_frequency")

    def clean_slipping_probability_alive(self) -> float:
        value = self.cleaned_data["slipping_probability_alive"]
        if value is not None and not 0.0 <= value <= 1.0:
            raise forms.ValidationError("A probability: between 0 and 1.")
        return value

    def _non_negative(self, field: str) -> float:
        value = self.cleaned_data[field]
        if value is not None and value < 0:
            raise forms.ValidationError("Must be zero or more.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        at_risk = cleaned.get("at_risk_after_days")
        dormant = cleaned.get("dormant_after_days")
        lost = cleaned.get("lost_after_days")
        # The rules test lost, then dormant, then at risk: out of order, a segment can never
        # be reached.
        if at_risk is not None and dormant is not None and at_risk >= dormant:
            self.add_error("at_risk_after_days", "Must be less than dormant after days.")
        if dormant is not None and lost is not None and dormant >= lost:
            self.add_error("dormant_after_days", "Must be less than lost after days.")
        return cleaned


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    """Venues with the state of their recompute, their thresholds and a recompute action."""

    form = VenueAdminForm
    list_display = (
        "name",
        "timezone",
        "currency",
        "last_run",
        "last_success",
        "live_as_of",
        "customers",
        "pending_customers",
    )
    search_fields = ("name",)
    ordering = ("name",)
    actions = ("queue_full_recompute",)
    readonly_fields = (
        "id",
        "created_at",
        "runs_link",
        "last_run",
        "last_success",
        "live_as_of",
        "customers",
    )
    fieldsets = (
        (None, {"fields": ("id", "name", "timezone", "currency", "created_at")}),
        (
            "Segmentation thresholds",
            {
                "description": "Every comparison is strict: more than N days, more than the "
                "amount. Changes apply from the next recompute.",
                "fields": (
                    ("at_risk_after_days", "dormant_after_days", "lost_after_days"),
                    ("vip_min_spent", "vip_min_frequency"),
                    "regular_min_frequency",
                ),
            },
        ),
        (
            "Predictions",
            {
                "fields": (
                    "prediction_model",
                    "annual_discount_rate",
                    "slipping_probability_alive",
                )
            },
        ),
        (
            "Recompute",
            {"fields": ("last_run", "last_success", "live_as_of", "customers", "runs_link")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # One correlated subquery per column, so the page costs the same number of queries
        # whatever the number of venues.
        runs = RecomputeRun.objects.filter(venue=OuterRef("pk")).order_by("-id")
        # Matches the (venue, status, -finished_at) index.
        successes = RecomputeRun.objects.filter(
            venue=OuterRef("pk"), status=RunStatus.SUCCEEDED
        ).order_by("-finished_at")
        pending = (
            PendingCustomer.objects.filter(venue=OuterRef("pk"))
            .order_by()
            .values("venue")
            .annotate(n=Count("pk"))
            .values("n")
        )
        snapshot_customers = SegmentSnapshot.objects.filter(venue=OuterRef("pk")).values(
            "total_customers"
        )
        return with_live_as_of(super().get_queryset(request)).annotate(
            last_run_id=Subquery(runs.values("id")[:1]),
            last_run_status=Subquery(runs.values("status")[:1]),
            last_run_at=Subquery(
                runs.annotate(
                    at=Coalesce(F("finished_at"), F("started_at"), F("requested_at"))
                ).values("at")[:1]
            ),
            last_success_at=Subquery(successes.values("finished_at")[:1]),
            customer_count=Subquery(snapshot_customers[:1]),
            pending_count=Coalesce(Subquery(pending), 0),
        )

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, venue: Venue) -> str:
        if getattr(venue, "last_run_id", None) is None:
            return "never"
        url = reverse("admin:customer_intel_recomputerun_change", args=[venue.last_run_id])
        return format_html(
            '<a href="{}">{}</a> · {} ago',
            url,
            venue.last_run_status,
            timesince(venue.last_run_at, depth=1),
        )

    @admin.display(description="last success", ordering="last_success_at")
    def last_success(self, venue: Venue) -> str:
        if getattr(venue, "last_success_at", None) is None:
            return "never"
        return f"{timesince(venue.last_success_at, depth=1)} ago"

    @admin.display(description="live as of", ordering="live_as_of")
    def live_as_of(self, venue: Venue) -> str:
        """The instant the live profiles are computed for; flagged when a back-dated run left
        them behind the last run's time (the next tick heals it)."""
        as_of = getattr(venue, "live_as_of", None)
        if as_of is None:
            return "-"
        finished = getattr(venue, "last_success_at", None)
        if finished is not None and finished - as_of > BACK_DATED_AFTER:
            return f"{as_of:%Y-%m-%d %H:%M} UTC (back-dated)"
        return f"{as_of:%Y-%m-%d %H:%M} UTC"

    @admin.display(description="customers", ordering="customer_count")
    def customers(self, venue: Venue) -> int | None:
        return getattr(venue, "customer_count", None)

    @admin.display(description="pending", ordering="pending_count")
    def pending_customers(self, venue: Venue) -> str:
        count = getattr(venue, "pending_count", 0)
        if not count:
            return "0"
        return format_html(
            '<a href="{}">{}</a>',
            changelist_url(PendingCustomer, **{VENUE_FILTER_PARAM: venue.pk}),
            count,
        )

    @admin.display(description="runs")
    def runs_link(self, venue: Venue) -> str:
        if venue.pk is None or venue._state.adding:
            return "-"
        return format_html(
            '<a href="{}">All runs of this venue</a>',
            changelist_url(RecomputeRun, **{VENUE_FILTER_PARAM: venue.pk}),
        )

    @admin.action(description="Queue full recompute", permissions=["change"])
    def queue_full_recompute(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Imported here: the admin module loads at startup, the recompute machinery need not.
        from customer_intel.services.recompute_queue import queue_recompute

        # A second click before the first run starts would only queue a run that the
        # one-run-per-venue lock then skips.
        already_queued = RecomputeRun.objects.filter(
            venue=OuterRef("pk"), mode=RunMode.FULL, status=RunStatus.QUEUED
        )
        venues = Venue.objects.filter(pk__in=queryset.values("pk")).annotate(
            full_run_queued=Exists(already_queued)
        )
        queued, skipped = [], []
        for venue in venues:
            if venue.full_run_queued:
                skipped.append(venue.name)
            else:
                queued.append(queue_recompute(venue=venue, mode=RunMode.FULL))
        if queued:
            run_ids = ", ".join(f"#{run.pk}" for run in queued)
            self.message_user(
                request,
                f"Queued a full recompute for {len(queued)} venue(s): run {run_ids}.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"A full recompute is already queued for: {', '.join(skipped)}.",
                messages.WARNING,
            )


@admin.register(VenueMembership)
class VenueMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "venue", "can_write", "created_at")
    list_filter = ("can_write", "venue")
    list_select_related = ("user", "venue")
    search_fields = ("user__username", "venue__name")
    autocomplete_fields = ("user", "venue")
    ordering = ("-created_at",)


# ---------------------------------------------------------------------------------------------
# The event log
# ---------------------------------------------------------------------------------------------


class OccurredWithinFilter(admin.SimpleListFilter):
    """Recent events by occurred_at: fixed windows rather than a date hierarchy, whose
    year/month/day links each run a DISTINCT over the whole log."""

    title = "occurred"
    parameter_name = "occurred_within"
    windows: dict[str, tuple[str, timedelta]] = {
        "24h": ("Last 24 hours", timedelta(hours=24)),
        "7d": ("Last 7 days", timedelta(days=7)),
        "30d": ("Last 30 days", timedelta(days=30)),
        "90d": ("Last 90 days", timedelta(days=90)),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.windows.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in self.windows:
            raise IncorrectLookupParameters(f"{self.parameter_name}: unknown window.")
        since = timezone.now() - self.windows[value][1]
        # Naming every venue lets PostgreSQL walk the (venue, occurred_at) index.
        return queryset.filter(venue_id__in=all_venue_ids(), occurred_at__gte=since)


@admin.register(CustomerEvent)
class CustomerEventAdmin(
    ReadOnlyAdminMixin,
    LargeTableAdminMixin,
    CustomerSearchAdminMixin,
    CustomerColumnMixin,
    admin.ModelAdmin,
):
    """The append-only event log, read-only."""

    list_display = (
        "id",
        "type",
        "occurred_at",
        "venue",
        "customer_short",
        "amount",
        "quantity",
        "channel",
        "campaign",
        "event_category",
    )
    list_filter = ("type", OccurredWithinFilter, "venue")
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    # Newest first by primary key: an index walk that stops after one page.
    ordering = ("-id",)
    # Sorting 9M rows by an arbitrary column is a full sort; the order stays fixed.
    sortable_by = ()
    fields = (
        "id",
        "venue",
        "event_id",
        "customer",
        "type",
        "occurred_at",
        "amount",
        "quantity",
        "event_category",
        "channel",
        "campaign",
        "properties_json",
        "received_at",
    )
    readonly_fields = ("properties_json",)

    @admin.display(description="properties")
    def properties_json(self, event: CustomerEvent) -> str:
        return pretty_json(event.properties)


# ---------------------------------------------------------------------------------------------
# The caches the recompute writes
# ---------------------------------------------------------------------------------------------


class VenueScopedChoiceFilter(admin.SimpleListFilter):
    """A filter on one of a fixed set of values, written so PostgreSQL can use the
    (venue, <field>, id) indexes even when no venue is chosen."""

    field_name = ""
    options: tuple[tuple[str, str], ...] = ()

    def lookups(self, request: HttpRequest, model_admin: Any) -> tuple[tuple[str, str], ...]:
        return self.options

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in {key for key, _ in self.options}:
            raise IncorrectLookupParameters(f"{self.parameter_name}: unknown value.")
        return queryset.filter(venue_id__in=all_venue_ids(), **{self.field_name: value})


class SegmentFilter(VenueScopedChoiceFilter):
    title = "segment"
    parameter_name = "segment"
    field_name = "segment"
    options = tuple((value, label) for value, label in Segment.choices)


class RfmSegmentFilter(VenueScopedChoiceFilter):
    title = "RFM segment"
    parameter_name = "rfm_segment"
    field_name = "rfm_segment"
    options = tuple((name, name) for name in RFM_SEGMENTS)


@admin.register(CustomerProfile)
class CustomerProfileAdmin(
    ReadOnlyAdminMixin,
    LargeTableAdminMixin,
    CustomerSearchAdminMixin,
    CustomerColumnMixin,
    admin.ModelAdmin,
):
    """The profile cache, read-only: what the API serves."""

    list_display = (
        "customer_short",
        "venue",
        "segment",
        "rfm_segment",
        "total_spent",
        "audit_rule_lifetime_value",
        "audit_rule_churn_probability",
        "probability_alive",
        "as_of",
    )
    list_filter = ("venue", SegmentFilter, RfmSegmentFilter)
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    ordering = ("-id",)
    # Each of these has a (venue, field, id) index.
    venue_sortable_by = (
        "total_spent",
        "audit_rule_lifetime_value",
        "audit_rule_churn_probability",
        "probability_alive",
    )
    readonly_fields = (
        "events_link",
        "preferred_event_types_json",
        "insights_json",
        "audit_rule_lifetime_value",
        "audit_rule_churn_probability",
    )
    fieldsets = (
        ("Customer", {"fields": ("venue", "customer", "events_link")}),
        (
            "Purchases",
            {
                "fields": (
                    ("total_purchases", "total_tickets"),
                    ("total_spent", "average_order_value"),
                    ("purchase_frequency", "days_since_last_purchase"),
                    ("first_seen", "last_seen"),
                    ("first_purchase_at", "last_purchase_at"),
                    "preferred_event_types_json",
                    "purchase_time",
                )
            },
        ),
        (
            "Segments and the audit's rules of thumb",
            {
                "fields": (
                    "segment",
                    "audit_rule_churn_probability",
                    "audit_rule_lifetime_value",
                    ("rfm_recency", "rfm_frequency", "rfm_monetary"),
                    ("recency_score", "frequency_score", "monetary_score"),
                    "rfm_segment",
                )
            },
        ),
        (
            "Model predictions (the venue's fitted purchase model + Gamma-Gamma)",
            {
                "fields": (
                    "prediction_model",
                    "probability_alive",
                    ("expected_purchases_90d", "expected_purchases_365d"),
                    ("predicted_clv_365d", "predicted_clv_3y"),
                    ("expected_next_order_at", "average_days_between_orders"),
                    "prediction_unavailable_reason",
                )
            },
        ),
        ("Insights", {"fields": ("insights_json",)}),
        ("Computation", {"fields": (("as_of", "computed_at"),)}),
    )

    def get_sortable_by(self, request: HttpRequest) -> tuple[str, ...]:
        """Sorting is offered within one venue: its indexes serve that order directly, and
        amounts of venues with different currencies do not compare anyway. Across all
        venues it would sort a million rows per page view."""
        if request.GET.get(VENUE_FILTER_PARAM):
            return self.venue_sortable_by
        return ()

    # The multiplication signs are the label's point: it reads as the formula.
    @admin.display(
        description="Audit rule: AOV × frequency × 3",  # noqa: RUF001
        ordering="predicted_lifetime_value",
    )
    def audit_rule_lifetime_value(self, profile: CustomerProfile) -> Any:
        return profile.predicted_lifetime_value

    @admin.display(
        description="Audit rule: churn by days since purchase", ordering="churn_probability"
    )
    def audit_rule_churn_probability(self, profile: CustomerProfile) -> Any:
        return profile.churn_probability

    @admin.display(description="events")
    def events_link(self, profile: CustomerProfile) -> str:
        return format_html(
            '<a href="{}">This customer\'s events</a>',
            changelist_url(CustomerEvent, q=profile.customer),
        )

    @admin.display(description="preferred event types")
    def preferred_event_types_json(self, profile: CustomerProfile) -> str:
        return pretty_json(profile.preferred_event_types)

    @admin.display(description="insights")
    def insights_json(self, profile: CustomerProfile) -> str:
        return pretty_json(profile.insights)


@admin.register(CustomerFacts)
class CustomerFactsAdmin(
    ReadOnlyAdminMixin,
    LargeTableAdminMixin,
    CustomerSearchAdminMixin,
    CustomerColumnMixin,
    admin.ModelAdmin,
):
    """Per-customer aggregates of the event log, read-only."""

    list_display = (
        "customer_short",
        "venue",
        "purchase_count",
        "refund_count",
        "last_seen",
        "last_purchase_at",
        "refreshed_at",
    )
    list_filter = ("venue",)
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(PendingCustomer)
class PendingCustomerAdmin(
    ReadOnlyAdminMixin,
    LargeTableAdminMixin,
    CustomerSearchAdminMixin,
    CustomerColumnMixin,
    admin.ModelAdmin,
):
    """Customers whose events are not yet in their profile: the incremental backlog."""

    list_display = ("customer_short", "venue", "marked_at")
    list_filter = ("venue",)
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    ordering = ("-id",)
    sortable_by = ()


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Segment counts as of each venue's last run, read-only."""

    list_display = ("venue", "total_customers", "as_of", "computed_at", "run")
    list_select_related = ("venue", "run")
    raw_id_fields = ("venue", "run")
    fields = (
        "venue",
        "total_customers",
        "segment_counts_json",
        "rfm_segment_counts_json",
        "as_of",
        "computed_at",
        "run",
    )
    readonly_fields = ("segment_counts_json", "rfm_segment_counts_json")

    @admin.display(description="segment counts")
    def segment_counts_json(self, snapshot: SegmentSnapshot) -> str:
        return pretty_json(snapshot.segment_counts)

    @admin.display(description="RFM segment counts")
    def rfm_segment_counts_json(self, snapshot: SegmentSnapshot) -> str:
        return pretty_json(snapshot.rfm_segment_counts)


# ---------------------------------------------------------------------------------------------
# Runs and model fits
# ---------------------------------------------------------------------------------------------


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """Every recompute: what was asked, what happened, how long it took. Read-only."""

    list_display = (
        "id",
        "venue",
        "mode",
        "status",
        "as_of",
        "requested_at",
        "started_at",
        "finished_at",
        "duration",
        "customers_processed",
        "events_processed",
        "error_preview",
    )
    list_filter = ("status", "mode", "venue")
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    # An incremental run every few minutes per venue makes this table large too.
    ordering = ("-id",)
    sortable_by = ("id",)
    fields = (
        "id",
        "venue",
        "mode",
        "status",
        "as_of",
        ("requested_at", "started_at", "finished_at"),
        "duration",
        ("customers_processed", "events_processed"),
        "task_id",
        "error_text",
    )
    readonly_fields = ("duration", "error_text")

    @admin.display(description="duration")
    def duration(self, run: RecomputeRun) -> str:
        if run.duration_seconds is None:
            return "-"
        return f"{run.duration_seconds:.1f} s"

    @admin.display(description="error")
    def error_preview(self, run: RecomputeRun) -> str:
        if len(run.error) <= ERROR_PREVIEW_CHARS:
            return run.error
        return run.error[:ERROR_PREVIEW_CHARS] + "…"

    @admin.display(description="error")
    def error_text(self, run: RecomputeRun) -> str:
        if not run.error:
            return "-"
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', run.error)


@admin.register(PredictionModelFit)
class PredictionModelFitAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """Purchase-model and Gamma-Gamma fits: the model chosen, every candidate's holdout error,
    used or refused with a reason. Read-only."""

    list_display = (
        "id",
        "venue",
        "as_of",
        "model",
        "usable",
        "reason",
        "candidates",
        "customers_used",
        "repeat_customers",
        "fit_seconds",
    )
    list_filter = ("usable", "model", "venue")
    list_select_related = ("venue",)
    raw_id_fields = ("venue", "run")
    ordering = ("-id",)
    sortable_by = ("id",)
    fields = (
        "venue",
        "run",
        ("as_of", "fitted_at"),
        "time_unit",
        ("model", "usable", "reason"),
        "candidates",
        ("customers_used", "repeat_customers"),
        "purchase_params_json",
        "purchase_log_likelihood",
        "gamma_gamma_params_json",
        "gamma_gamma_log_likelihood",
        "selection_json",
        "diagnostics_json",
        "fit_seconds",
    )
    readonly_fields = (
        "candidates",
        "purchase_params_json",
        "gamma_gamma_params_json",
        "selection_json",
        "diagnostics_json",
    )

    @admin.display(description="holdout MAE per candidate (lower is better)")
    def candidates(self, fit: PredictionModelFit) -> str:
        scores = [
            f"{candidate.get('label', candidate.get('model'))} "
            + (
                f"{candidate['holdout_mae']:.4f}"
                if candidate.get("holdout_mae") is not None
                else "refused"
            )
            for candidate in (fit.selection or {}).get("candidates", [])
        ]
        basis = (fit.selection or {}).get("basis", "")
        return f"{'; '.join(scores) or '-'} ({basis})" if basis else "; ".join(scores) or "-"

    @admin.display(description="purchase model parameters")
    def purchase_params_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.purchase_params)

    @admin.display(description="Gamma-Gamma parameters")
    def gamma_gamma_params_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.gamma_gamma_params)

    @admin.display(description="model choice")
    def selection_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.selection)

    @admin.display(description="diagnostics")
    def diagnostics_json(self, fit: PredictionModelFit) -> str:
        return pretty_json(fit.diagnostics)
