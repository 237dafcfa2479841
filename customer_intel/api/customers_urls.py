"""URLs of the customer endpoints."""

urlpatterns: list = []
