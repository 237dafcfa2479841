"""URLs of operational endpoints (health)."""

urlpatterns: list = []
