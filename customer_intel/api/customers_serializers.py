"""Shapes DRF renders itself: errors, the recompute trigger and health. The customer answers
are declared in `answers`."""

from __future__ import annotations

from rest_framework import serializers

from customer_intel.models import RunMode


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(
        required=False,
        help_text="Field problems: {parameter: [messages]}.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers: `{"error": {status, code, message, details?}}`."""

    error = ErrorBodySerializer()


class RecomputeRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=[RunMode.FULL, RunMode.INCREMENTAL], default=RunMode.INCREMENTAL
    )


class RecomputeQueuedSerializer(serializers.Serializer):
    runId = serializers.IntegerField()
    status = serializers.CharField()
    mode = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    """Overall status and its checks; `venues` only for authenticated staff."""

    status = serializers.ChoiceField(choices=["ok", "degraded", "down"])
    database = serializers.ChoiceField(choices=["ok", "down"])
    broker = serializers.ChoiceField(choices=["ok", "down", "in-process"])
    venues = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text="Seconds since each venue's last successful recompute (null: never), "
        "keyed by venue id. Staff only.",
    )
    liveAsOf = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        required=False,
        help_text="The instant each venue's live profiles are computed as of: its last "
        "successful full run's as-of (null: none yet), keyed by venue id. A venue back-dated by "
        "`recompute --as-of` shows it here until the next tick recomputes it as of now. "
        "Staff only.",
    )
