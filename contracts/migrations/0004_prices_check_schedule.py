"""Schedule the nightly price checks (``contracts.prices_check``) in django-celery-beat: 02:30 every day.

The schedule lives in the database (``CELERY_BEAT_SCHEDULER`` is the django-celery-beat scheduler), so
an administrator can move or pause it in the admin under Periodic tasks without a release.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "Nightly price checks"


def schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    changed_model = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "contracts.prices_check",
            "crontab": crontab,
            "enabled": True,
            "description": "Overlapping prices, contracts expiring soon, price anomalies and unconvertible price "
            "units: opens and closes steward tasks (contracts.checks).",
        },
    )
    # Tell a running beat that the schedule changed (django-celery-beat's signals don't run in migrations).
    changed_model.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_price_overlap_exclusion"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
