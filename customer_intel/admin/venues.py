"""Venues and their thresholds, the state of their recompute, and access to them."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timesince import timesince

from customer_intel.admin.common import (
    VENUE_FILTER_PARAM,
    VenueTimeZoneMixin,
    changelist_url,
    venue_time,
)
from customer_intel.admin.pictures import VenuePicturesMixin
from customer_intel.models import (
    PendingCustomer,
    RecomputeRun,
    RunStatus,
    SegmentSnapshot,
    Venue,
    VenueMembership,
)
from customer_intel.services.live_as_of import with_live_as_of
from customer_intel.services.recompute.dispatch import queue_full_recomputes_unless_waiting
from customer_intel.services.venues import venue_create

# A live as-of this far before the run that computed it is shown as back-dated.
BACK_DATED_AFTER = timedelta(hours=1)


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
class VenueAdmin(VenueTimeZoneMixin, VenuePicturesMixin, admin.ModelAdmin):
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
        "pictures",
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
            "Personal data",
            {
                "description": "Empty keeps every event. Older events are deleted nightly and "
                "the customers concerned recomputed; each purge is in the privacy audit trail.",
                "fields": ("event_retention_days",),
            },
        ),
        (
            "Recompute",
            {"fields": ("last_run", "last_success", "live_as_of", "customers", "runs_link")},
        ),
        ("History", {"fields": ("history_retention_days",)}),
        ("Pictures", {"classes": ("ci-pictures-set",), "fields": ("pictures",)}),
    )

    def save_model(self, request: HttpRequest, obj: Venue, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            # The list shows every venue by name, so a second one of a name is the operator's
            # visible choice here.
            venue_create(venue=obj, allow_duplicate_name=True)

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
            return f"{venue_time(as_of, venue)} (back-dated)"
        return venue_time(as_of, venue)

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
        result = queue_full_recomputes_unless_waiting(venues=queryset)
        queued = result.queued
        skipped = [venue.name for venue in result.already_waiting]
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
