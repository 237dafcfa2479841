from django.apps import AppConfig


class CustomerIntelConfig(AppConfig):
    name = "customer_intel"
    verbose_name = "Customer Intelligence"
    default_auto_field = "django.db.models.BigAutoField"
