from django.apps import AppConfig


class CustomerIntelConfig(AppConfig):
    name = "customer_intel"
    verbose_name = "Customer Intelligence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customer_intel.privacy import check_hmac_key

        check_hmac_key()
