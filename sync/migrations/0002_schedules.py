"""The syndication schedules, stored in the database so operations can change them in admin (django-celery-beat)."""

from django.db import migrations

SCHEDULES = [
    # name, task, every, period, description
    ("sync: pump the outbox", "sync.pump", 5, "seconds", "Dispatch outbox events and start deliveries."),
    ("sync: pull from Odoo", "sync.pull", 15, "minutes", "Inbound: records changed in Odoo since the last pull."),
    ("sync: reconcile Odoo", "sync.reconcile", 1, "hours", "Read back delivered records; drift -> steward tasks."),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period, description in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "description": description, "enabled": True}
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[row[0] for row in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
