"""Steward tasks: work the hub's checks hand to people (a price anomaly, an expiring contract...).

Checks open tasks through :func:`mdm.services.tasks.task_open`, which is idempotent per ``dedupe_key``:
re-running a nightly check refreshes the open task instead of opening a second one.
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class StewardTask(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    class Priority(models.IntegerChoices):
        HIGH = 1, "High"
        NORMAL = 2, "Normal"
        LOW = 3, "Low"

    kind = models.CharField(max_length=48, db_index=True, help_text="What the check found, e.g. price_overlap.")
    entity_type = models.CharField(max_length=32, help_text="The registry key of the record concerned.")
    object_id = models.PositiveBigIntegerField(help_text="The golden record concerned.")
    title = models.CharField(max_length=255)
    details = models.JSONField(default=dict, blank=True, help_text="The figures behind the task.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    dedupe_key = models.CharField(max_length=255, help_text="One open task per key.")
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [models.Index(fields=["entity_type", "object_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=models.Q(status="open"), name="steward_task_one_open_per_key"
            )
        ]

    def __str__(self):
        return f"{self.kind}: {self.title}"
