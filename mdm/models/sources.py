"""Source systems, source records (immutable, versioned), crosswalks and quarantine."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from mdm.choices import IngestOutcome, LinkMethod, SourceKind


class SourceSystem(models.Model):
    """A system that sends records to the hub (an Odoo database, a catalog file feed, a GPO, an API client).

    ``trust_rank`` orders sources for survivorship: 1 is the most trusted.
    """

    name = models.CharField(max_length=100, unique=True, help_text="Stable key, e.g. 'odoo-prod'.")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    trust_rank = models.PositiveSmallIntegerField(default=50, help_text="1 = most trusted.")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["trust_rank", "name"]

    def __str__(self):
        return self.name


class IngestBatch(models.Model):
    """One ingest call (an API batch, a file, an Odoo pull): counts, who, how; a row the UI can show."""

    class Channel(models.TextChoices):
        API = "api", "API"
        FILE = "file", "File import"
        ODOO = "odoo", "Odoo pull"
        DEMO = "demo", "Demo data"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="batches")
    entity_type = models.CharField(max_length=32)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    filename = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "ingest batches"

    def __str__(self):
        return f"{self.system} {self.entity_type} batch {self.pk} ({self.total} records)"


class Crosswalk(models.Model):
    """The identity of one record in one source system, and its link to a golden record.

    All versions of the source record share it, so a new payload keeps its link. Link changes are
    kept in history (a merge or unmerge moves links; the audit trail shows who and when).
    """

    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="crosswalks")
    entity_type = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255)
    golden_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    link_method = models.CharField(max_length=16, choices=LinkMethod.choices, blank=True)
    match_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "entity_type", "external_id"], name="crosswalk_unique_source_id")
        ]
        indexes = [models.Index(fields=["entity_type", "golden_id"], name="crosswalk_golden_idx")]

    def __str__(self):
        return f"{self.system}:{self.entity_type}:{self.external_id}"


class ImmutableRowError(Exception):
    """Source records and quarantined payloads are evidence: they are never edited or deleted."""


class SourceRecord(models.Model):
    """One received version of a source record. Immutable: a changed payload is a new version."""

    crosswalk = models.ForeignKey(Crosswalk, on_delete=models.PROTECT, related_name="versions")
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="records")
    entity_type = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255)
    version = models.PositiveIntegerField()
    payload = models.JSONField(help_text="The payload exactly as received.")
    standardized = models.JSONField(help_text="The payload after validation and standardization.")
    payload_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON payload.")
    validation_errors = models.JSONField(
        default=dict, blank=True, help_text="Non-blocking findings (blocking ones send the payload to quarantine)."
    )
    is_current = models.BooleanField(default=True)
    batch = models.ForeignKey(IngestBatch, on_delete=models.PROTECT, related_name="records")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["crosswalk", "version"], name="source_record_unique_version"),
            models.UniqueConstraint(
                fields=["crosswalk"], condition=models.Q(is_current=True), name="source_record_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["system", "entity_type", "external_id"], name="source_record_ext_idx"),
            models.Index(fields=["entity_type", "is_current"], name="source_record_current_idx"),
        ]

    def __str__(self):
        return f"{self.system}:{self.entity_type}:{self.external_id} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError("source records are immutable; ingest a new version instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("source records are never deleted")


class QuarantinedRecord(models.Model):
    """A payload that failed validation, kept with its per-field reasons until fixed at the source."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUPERSEDED = "superseded", "Superseded by a valid version"
        DISMISSED = "dismissed", "Dismissed by a steward"

    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="quarantine")
    entity_type = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255)
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    errors = models.JSONField(help_text="Field name -> list of messages, as the API reported them.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    batch = models.ForeignKey(IngestBatch, on_delete=models.PROTECT, related_name="quarantined")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["system", "entity_type", "external_id"], name="quarantine_ext_idx")]

    def __str__(self):
        return f"{self.system}:{self.entity_type}:{self.external_id} (quarantined)"


__all__ = [
    "Crosswalk",
    "ImmutableRowError",
    "IngestBatch",
    "IngestOutcome",
    "QuarantinedRecord",
    "SourceRecord",
    "SourceSystem",
]
