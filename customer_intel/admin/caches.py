"""The tables the recompute writes (profiles, facts, pending marks, segment counts),
read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from customer_intel.admin.common import (
    VENUE_FILTER_PARAM,
    CustomerColumnMixin,
    CustomerSearchAdminMixin,
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    all_venue_ids,
    changelist_url,
    pretty_json,
)
from customer_intel.analytics.vocabulary import RFM_SEGMENTS
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    Segment,
    SegmentSnapshot,
)


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
