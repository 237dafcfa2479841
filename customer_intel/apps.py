from django.apps import AppConfig


class CustomerIntelConfig(AppConfig):
    name = "customer_intel"
    verbose_name = "Customer Intelligence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the tasks with Celery in every process (web, worker, commands), so that
        # senders find them by name (customer_intel.task_names).
        from customer_intel import tasks  # noqa: F401
        from customer_intel.privacy import check_hmac_key

        check_hmac_key()
