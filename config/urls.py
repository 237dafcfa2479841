"""Top-level URLs: the front page, the API, its schema and docs, health, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from customer_intel.landing import LandingView

urlpatterns = [
    path("", LandingView.as_view(), name="landing"),
    path("events/", include("customer_intel.api.events_urls")),
    path("customers/", include("customer_intel.api.customers_urls")),
    path("", include("customer_intel.api.ops_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="customer_intel/redoc.html"),
        name="redoc",
    ),
    # DRF's login and logout pages: the browsable API shows a "Log in" link through them.
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
]
