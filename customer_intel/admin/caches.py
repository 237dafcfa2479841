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
    VenueTimeZoneMixin,
    all_venue_ids,
    changelist_url,
    local_time,
    pretty_json,
    readable_list,
    rounded,
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
    VenueTimeZoneMixin,
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
        "probability_alive_rounded",
        "as_of_local",
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
        "probability_alive_rounded",
    )
    # Model figures are floats: shown to the digits a person reads, the API keeps them whole.
    purchase_frequency_rounded = rounded("purchase_frequency", 2, "purchases per year")
    probability_alive_rounded = rounded("probability_alive", 3, "P(alive)")
    expected_purchases_90d_rounded = rounded(
        "expected_purchases_90d", 2, "expected purchases, 90 days"
    )
    expected_purchases_365d_rounded = rounded(
        "expected_purchases_365d", 2, "expected purchases, 365 days"
    )
    average_days_between_orders_rounded = rounded(
        "average_days_between_orders", 1, "average days between orders"
    )
    readonly_fields = (
        "events_link",
        "preferred_event_types_list",
        "insights_list",
        "audit_rule_lifetime_value",
        "audit_rule_churn_probability",
        "purchase_frequency_rounded",
        "probability_alive_rounded",
        "expected_purchases_90d_rounded",
        "expected_purchases_365d_rounded",
        "average_days_between_orders_rounded",
    )
    fieldsets = (
        ("Customer", {"fields": ("venue", "customer", "events_link")}),
        (
            "Purchases",
            {
                "fields": (
                    ("total_purchases", "total_tickets"),
                    ("total_spent", "average_order_value"),
                    "refunds_exceed_purchases",
                    ("purchase_frequency_rounded", "days_since_last_purchase"),
                    ("first_seen", "last_seen"),
                    ("first_purchase_at", "last_purchase_at"),
                    "preferred_event_types_list",
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
                    "probability_alive_rounded",
                    ("expected_purchases_90d_rounded", "expected_purchases_365d_rounded"),
                    ("predicted_clv_365d", "predicted_clv_3y"),
                    ("expected_next_order_at", "average_days_between_orders_rounded"),
                    "prediction_unavailable_reason",
                )
            },
        ),
        ("Insights", {"fields": ("insights_list",)}),
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

    as_of_local = local_time("as_of", "as of")

    @admin.display(description="preferred event types, most bought first")
    def preferred_event_types_list(self, profile: CustomerProfile) -> str:
        return readable_list(profile.preferred_event_types)

    @admin.display(description="insights")
    def insights_list(self, profile: CustomerProfile) -> str:
        return readable_list([_insight_text(insight) for insight in profile.insights])


def _insight_text(insight: dict[str, Any]) -> str:
    """One stored insight as a line a person reads: title, impact, what it says, what to do."""
    actions = insight.get("suggested_actions") or []
    text = format_html(
        "<strong>{}</strong> ({} impact): {}",
        insight.get("title", ""),
        insight.get("impact", ""),
        insight.get("description", ""),
    )
    if actions:
        text = format_html("{}<br>Suggested: {}", text, "; ".join(actions))
    return text


@admin.register(CustomerFacts)
class CustomerFactsAdmin(
    VenueTimeZoneMixin,
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
        "last_seen_local",
        "last_purchase_local",
        "refreshed_local",
    )
    list_filter = ("venue",)
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    ordering = ("-id",)
    sortable_by = ()

    last_seen_local = local_time("last_seen", "last seen")

    last_purchase_local = local_time("last_purchase_at", "last purchase")

    refreshed_local = local_time("refreshed_at", "refreshed")


@admin.register(PendingCustomer)
class PendingCustomerAdmin(
    ReadOnlyAdminMixin,
    LargeTableAdminMixin,
    CustomerSearchAdminMixin,
    CustomerColumnMixin,
    admin.ModelAdmin,
):
    """Customers whose events are not yet in their profile: the incremental backlog."""

    list_display = ("customer_short", "venue", "marked_local")
    list_filter = ("venue",)
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    ordering = ("-id",)
    sortable_by = ()

    marked_local = local_time("marked_at", "marked")


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(VenueTimeZoneMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Segment counts as of each venue's last run, read-only."""

    list_display = ("venue", "total_customers", "as_of_local", "computed_local", "run")
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

    as_of_local = local_time("as_of", "as of")

    computed_local = local_time("computed_at", "computed")

    @admin.display(description="segment counts")
    def segment_counts_json(self, snapshot: SegmentSnapshot) -> str:
        return pretty_json(snapshot.segment_counts)

    @admin.display(description="RFM segment counts")
    def rfm_segment_counts_json(self, snapshot: SegmentSnapshot) -> str:
        return pretty_json(snapshot.rfm_segment_counts)
