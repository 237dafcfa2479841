"""URLs of the customer endpoints.

Venue and customer ids are matched loosely (any string; a customer id may even hold a slash)
so every request under /customers/venue/ reaches a view and gets the API's JSON errors, never
Django's HTML 404. The fixed words (segments, search, recompute and what follows them) come
first, and the bare profile route last: a raw customer id spelled like a fixed word is
reachable by its pseudonym.
"""

from django.urls import path

from customer_intel.api import customer_views, search_views, trend_views, venue_views
from customer_intel.api.erasure_views import CustomerView

VENUE = "venue/<str:venue_id>"
CUSTOMER = VENUE + "/<path:customer_id>"

urlpatterns = [
    path(f"{VENUE}/segments", venue_views.SegmentsView.as_view(), name="customer-segments"),
    path(f"{VENUE}/search", search_views.CustomerSearchView.as_view(), name="customer-search"),
    path(
        f"{VENUE}/segments/history",
        trend_views.SegmentHistoryView.as_view(),
        name="customer-segments-history",
    ),
    path(
        f"{VENUE}/segments/flows",
        trend_views.SegmentFlowsView.as_view(),
        name="customer-segments-flows",
    ),
    path(f"{VENUE}/recompute", venue_views.RecomputeView.as_view(), name="customer-recompute"),
    path(
        f"{VENUE}/recompute/<str:run_id>",
        trend_views.RecomputeRunView.as_view(),
        name="customer-recompute-run",
    ),
    path(
        f"{CUSTOMER}/insights",
        customer_views.CustomerInsightsView.as_view(),
        name="customer-insights",
    ),
    path(
        f"{CUSTOMER}/journey", customer_views.CustomerJourneyView.as_view(), name="customer-journey"
    ),
    path(f"{CUSTOMER}/rfm", customer_views.CustomerRfmView.as_view(), name="customer-rfm"),
    path(f"{CUSTOMER}/clv", customer_views.CustomerClvView.as_view(), name="customer-clv"),
    # GET: the profile (customer_views.CustomerProfileView); DELETE: the erasure.
    path(CUSTOMER, CustomerView.as_view(), name="customer-profile"),
]
