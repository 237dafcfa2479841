"""URLs of event ingestion."""

urlpatterns: list = []
