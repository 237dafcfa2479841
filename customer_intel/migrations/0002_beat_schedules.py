"""The two recompute schedules, as django-celery-beat rows operators can see and edit in the
admin: an incremental tick every 5 minutes and a full run nightly at 02:30 UTC.

Idempotent (looked up by name, so an edited schedule is left as the operator set it) and
reversible (removes the two tasks and any schedule nothing else uses).
"""

from django.db import migrations
from django.utils import timezone

INCREMENTAL_NAME = "customer_intel: incremental recompute"
NIGHTLY_NAME = "customer_intel: nightly full recompute"


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=INCREMENTAL_NAME,
        defaults={
            "task": "customer_intel.tasks.queue_incremental_recomputes",
            "interval": every_five_minutes,
            # A tick that waited past the next one is worthless: the next one does its work.
            "expire_seconds": 240,
            "description": "Recomputes the customers with events since their last computation, "
            "and re-sends recompute runs the broker never delivered.",
        },
    )
    PeriodicTask.objects.get_or_create(
        name=NIGHTLY_NAME,
        defaults={
            "task": "customer_intel.tasks.queue_full_recomputes",
            "crontab": nightly,
            "expire_seconds": 3600,
            "description": "Recomputes every customer of every venue (recency moves with the "
            "calendar), one venue after another.",
        },
    )
    # The beat scheduler reloads its schedule when this marker changes; historical models do
    # not send the signals that would bump it.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    PeriodicTask.objects.filter(name__in=[INCREMENTAL_NAME, NIGHTLY_NAME]).delete()
    IntervalSchedule.objects.filter(every=5, period="minutes", periodictask__isnull=True).delete()
    CrontabSchedule.objects.filter(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        periodictask__isnull=True,
    ).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("customer_intel", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_schedules, remove_schedules),
    ]
