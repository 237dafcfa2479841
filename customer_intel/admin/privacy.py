"""The audit trail of personal-data operations in the admin: erasures, suppressions and
retention purges (running, succeeded or failed), read-only. It holds no customer id."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from customer_intel.models import PrivacyAuditEntry

ERROR_PREVIEW_CHARS = 80


@admin.register(PrivacyAuditEntry)
class PrivacyAuditEntryAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="detail")
    def detail_json(self, entry: PrivacyAuditEntry) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(entry.detail, indent=2, sort_keys=True),
        )

    @admin.display(description="error")
    def error_preview(self, entry: PrivacyAuditEntry) -> str:
        if len(entry.error) <= ERROR_PREVIEW_CHARS:
            return entry.error
        return entry.error[:ERROR_PREVIEW_CHARS] + "…"
