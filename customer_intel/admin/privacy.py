"""The audit trail of personal-data operations in the admin: erasures, suppressions and
retention purges (running, succeeded or failed), read-only. It holds no customer id."""

from __future__ import annotations

from django.contrib import admin

from customer_intel.admin.common import ReadOnlyAdminMixin, pretty_json, text_preview
from customer_intel.models import PrivacyAuditEntry


@admin.register(PrivacyAuditEntry)
class PrivacyAuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who did what to personal data at which venue, when, and how much. Read-only."""

    list_display = (
        "id",
        "venue",
        "action",
        "status",
        "actor",
        "via",
        "started_at",
        "finished_at",
        "events",
        "profiles",
        "customers",
        "error_preview",
    )
    list_filter = ("action", "status", "via", "venue")
    list_select_related = ("venue",)
    raw_id_fields = ("venue",)
    ordering = ("-id",)
    sortable_by = ("id",)
    fields = (
        "id",
        "venue",
        ("action", "status"),
        ("actor", "via"),
        ("started_at", "finished_at"),
        ("events", "profiles", "customers"),
        "detail_json",
        "error",
    )
    readonly_fields = ("detail_json",)

    @admin.display(description="detail")
    def detail_json(self, entry: PrivacyAuditEntry) -> str:
        return pretty_json(entry.detail)

    @admin.display(description="error")
    def error_preview(self, entry: PrivacyAuditEntry) -> str:
        return text_preview(entry.error)
