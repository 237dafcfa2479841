"""URLs of the customer endpoints.

Venue and customer ids are matched as plain strings so a malformed one reaches the view and
gets the API's JSON 404, not Django's HTML page. The fixed words (segments, search,
recompute) come first: a raw customer id spelled like one of them is reachable by pseudonym.
"""

from django.urls import path

from customer_intel.api import customers_views as views

urlpatterns = [
    path("venue/<str:venue_id>/segments", views.SegmentsView.as_view(), name="customer-segments"),
    path("venue/<str:venue_id>/search", views.CustomerSearchView.as_view(), name="customer-search"),
    path(
        "venue/<str:venue_id>/recompute", views.RecomputeView.as_view(), name="customer-recompute"
    ),
    path(
        "venue/<str:venue_id>/<str:customer_id>",
        views.CustomerProfileView.as_view(),
        name="customer-profile",
    ),
    path(
        "venue/<str:venue_id>/<str:customer_id>/insights",
        views.CustomerInsightsView.as_view(),
        name="customer-insights",
    ),
    path(
        "venue/<str:venue_id>/<str:customer_id>/journey",
        views.CustomerJourneyView.as_view(),
        name="customer-journey",
    ),
    path(
        "venue/<str:venue_id>/<str:customer_id>/rfm",
        views.CustomerRfmView.as_view(),
        name="customer-rfm",
    ),
    path(
        "venue/<str:venue_id>/<str:customer_id>/clv",
        views.CustomerClvView.as_view(),
        name="customer-clv",
    ),
]
