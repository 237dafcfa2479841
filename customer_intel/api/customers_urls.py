"""URLs of the customer endpoints.

Venue and customer ids are matched loosely (any string; a customer id may even hold a slash)
so every request under /customers/venue/ reaches a view and gets the API's JSON errors, never
Django's HTML 404. The fixed words (segments, search, recompute) come first, and the bare
profile route last: a raw customer id spelled like a fixed word is reachable by its pseudonym.
"""

from django.urls import path

from customer_intel.api import customers_views as views
from customer_intel.api.erasure_views import CustomerView

VENUE = "venue/<str:venue_id>"
CUSTOMER = VENUE + "/<path:customer_id>"

urlpatterns = [
    path(f"{VENUE}/segments", views.SegmentsView.as_view(), name="customer-segments"),
    path(f"{VENUE}/search", views.CustomerSearchView.as_view(), name="customer-search"),
    path(f"{VENUE}/recompute", views.RecomputeView.as_view(), name="customer-recompute"),
    path(f"{CUSTOMER}/insights", views.CustomerInsightsView.as_view(), name="customer-insights"),
    path(f"{CUSTOMER}/journey", views.CustomerJourneyView.as_view(), name="customer-journey"),
    path(f"{CUSTOMER}/rfm", views.CustomerRfmView.as_view(), name="customer-rfm"),
    path(f"{CUSTOMER}/clv", views.CustomerClvView.as_view(), name="customer-clv"),
    # GET: the profile (views.CustomerProfileView); DELETE: the erasure.
    path(CUSTOMER, CustomerView.as_view(), name="customer-profile"),
]
