"""The product's URLs plus `GET /bench/ping`: the cheapest authenticated DRF endpoint, the
yardstick the customer endpoints are measured against."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as product_urlpatterns


class PingView(APIView):
    """Authentication, throttling and JSON rendering, with no query of its own."""

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [path("bench/ping", PingView.as_view()), *product_urlpatterns]
