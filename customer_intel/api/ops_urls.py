"""URLs of operational endpoints (health)."""

from django.urls import path

from customer_intel.api.ops_views import HealthView

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
]
