"""Top-level URLs: the front page, the API, its schema and docs, health, and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from customer_intel.api import error_views
from customer_intel.landing import LandingView

urlpatterns = [
    path("", LandingView.as_view(), name="landing"),
    path("events/", include("customer_intel.api.events_urls")),
    path("customers/", include("customer_intel.api.customers_urls")),
    # Any other path under the API's prefixes: the API's JSON 404, not Django's HTML page (a
    # path no route can match, e.g. one holding a newline, included).
    re_path(r"^(?:events|customers)(?:/|$)", error_views.api_not_found),
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

# Errors Django answers itself, in the API's error shape.
handler400 = error_views.bad_request
handler403 = error_views.permission_denied
handler500 = error_views.server_error
