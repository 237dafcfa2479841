"""The event log, read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from customer_intel.admin.common import (
    CustomerColumnMixin,
    CustomerSearchAdminMixin,
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    VenueTimeZoneMixin,
    all_venue_ids,
    local_time,
    pretty_json,
)
from customer_intel.models import (
    CustomerEvent,
)


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
    VenueTimeZoneMixin,
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
        "occurred_local",
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

    occurred_local = local_time("occurred_at", "occurred")

    @admin.display(description="properties")
    def properties_json(self, event: CustomerEvent) -> str:
        return pretty_json(event.properties)
