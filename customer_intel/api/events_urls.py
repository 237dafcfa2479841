"""URLs of event ingestion (mounted under /events/)."""

from django.urls import path

from customer_intel.api.events_views import EventBatchIngestView

urlpatterns = [
    path("venue/<str:venue_id>", EventBatchIngestView.as_view(), name="events-ingest"),
]
