"""Syndication: the outbox, targets and their subscriptions, deliveries, key maps, inbound watermarks.

Applying a change to a golden record writes an ``OutboxEvent`` in the same transaction (see
``sync.outbox``). The engine (``sync.engine``) fans each event out into one ``Delivery`` per subscribed
target and sends deliveries in batches; the ``KeyMap`` remembers which target record holds which golden
record, and the last version delivered there, so an older version never overwrites a newer one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from mdm.fields import EncryptedTextField


class Target(models.Model):
    class Kind(models.TextChoices):
        ODOO = "odoo", "Odoo"
        WEBHOOK = "webhook", "Signed webhook"
        FILE_DROP = "file_drop", "File drop"

    class Protocol(models.TextChoices):
        AUTO = "auto", "Automatic (JSON-2 on Odoo 19, JSON-RPC before)"
        JSONRPC = "jsonrpc", "JSON-RPC"
        XMLRPC = "xmlrpc", "XML-RPC"
        JSON2 = "json2", "JSON-2 (Odoo 19+)"

    class FileFormat(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True, help_text="Disabled targets keep their deliveries pending.")
    url = models.URLField(blank=True, max_length=500, help_text="Odoo base URL or the webhook receiver's URL.")
    database = models.CharField(max_length=100, blank=True, help_text="Odoo database name.")
    login = models.CharField(max_length=150, blank=True, help_text="Odoo login of the integration user.")
    secret = EncryptedTextField(
        blank=True, help_text="Odoo API key or the webhook signing secret; encrypted at rest, never shown again."
    )
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.AUTO)
    company_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="Odoo company id for records the hub creates (empty: shared by all)."
    )
    directory = models.CharField(max_length=500, blank=True, help_text="File drop: the directory files land in.")
    file_format = models.CharField(max_length=8, choices=FileFormat.choices, default=FileFormat.JSONL, blank=True)
    batch_size = models.PositiveIntegerField(default=200, help_text="Records per call or file (Odoo: a few hundred).")
    timeout_seconds = models.PositiveIntegerField(default=30)
    max_attempts = models.PositiveIntegerField(
        default=8, help_text="Transient failures are retried with backoff this many times, then dead-lettered."
    )
    inbound = models.BooleanField(
        default=False, help_text="Odoo: pull vendors, products and vendor prices changed since the last pull."
    )
    detected_version = models.CharField(max_length=32, blank=True, help_text="From Odoo's common.version().")
    lock_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="A worker is delivering to this target until then."
    )
    lock_owner = models.CharField(max_length=64, blank=True, editable=False)
    version_checked_at = models.DateTimeField(null=True, blank=True)
    source_system = models.ForeignKey(
        "mdm.SourceSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Inbound records and adopted drift are stored as source records of this system.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("replay_delivery", "Can replay deliveries")]

    def __str__(self):
        return self.name

    @property
    def major_version(self) -> int | None:
        try:
            return int(str(self.detected_version).split(".")[0])
        except ValueError:
            return None


class Subscription(models.Model):
    """Which entity types a target receives, optionally filtered on the published payload.

    ``filters`` maps payload keys to a value, a list of allowed values, or with a ``__startswith`` suffix
    a prefix: ``{"status": "active", "unspsc__startswith": "42"}``. A record that leaves the filter after
    it was delivered is sent once more as retired, so the target archives it.
    """

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="subscriptions")
    entity_type = models.CharField(max_length=32)
    filters = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "entity_type"], name="sync_one_subscription")]

    def __str__(self):
        return f"{self.target} <- {self.entity_type}"


class OutboxEvent(models.Model):
    class ChangeType(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        RETIRE = "retire", "Retire"
        MERGE = "merge", "Merge (retired into a survivor)"
        RESYNC = "resync", "Re-sync (backfill, re-push)"

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entity_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    version = models.PositiveIntegerField()
    change_type = models.CharField(max_length=8, choices=ChangeType.choices)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    change_request_id = models.PositiveBigIntegerField(null=True, blank=True)
    payload = models.JSONField(help_text="The record as it was at this version; secrets sealed.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["entity_type", "object_id", "version"]),
            models.Index(fields=["dispatched_at", "id"], name="sync_outbox_undispatched"),
        ]

    def __str__(self):
        return f"{self.entity_type} {self.object_id} v{self.version} ({self.change_type})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead letter"
        SUPERSEDED = "superseded", "Superseded by a newer version"
        FILTERED = "filtered", "Skipped (outside the subscription)"

    OPEN_STATUSES = (Status.PENDING, Status.SENDING, Status.FAILED)

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    entity_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    archive = models.BooleanField(
        default=False, help_text="Send as retired: the record left the subscription's filter after it was delivered."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A worker holds this delivery until then.")
    error_kind = models.CharField(max_length=16, blank=True, help_text="transient / permanent")
    last_error = models.TextField(blank=True)
    request_excerpt = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    target_ref = models.CharField(max_length=100, blank=True, help_text="The record's id at the target.")
    batch_id = models.UUIDField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replayed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["target", "event"], name="sync_one_delivery_per_event")]
        indexes = [
            models.Index(fields=["target", "status", "next_attempt_at"], name="sync_delivery_due"),
            models.Index(fields=["target", "entity_type", "object_id", "version"], name="sync_delivery_record"),
        ]

    def __str__(self):
        return f"{self.target} {self.entity_type} {self.object_id} v{self.version}: {self.status}"


class KeyMap(models.Model):
    """Golden id <-> target record id, with the last version delivered (newest wins)."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="keys")
    entity_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    target_model = models.CharField(max_length=64, blank=True)
    target_ref = models.CharField(max_length=100, blank=True, help_text="Odoo record id, receiver's id, file name.")
    external_id = models.CharField(max_length=150, blank=True, help_text="Odoo external id, e.g. __mdm__.item_42.")
    last_version = models.PositiveIntegerField(default=0)
    last_payload = models.JSONField(default=dict, blank=True, help_text="What the target was last sent (mapped).")
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    archived = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="Last reconciliation read-back.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "entity_type", "object_id"], name="sync_one_key_per_record")
        ]
        indexes = [models.Index(fields=["target", "target_model", "target_ref"])]

    def __str__(self):
        return f"{self.target}: {self.entity_type} {self.object_id} -> {self.target_model} {self.target_ref}"


class Watermark(models.Model):
    """Inbound pull position per target and model: records written after ``write_date`` come next."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="watermarks")
    model = models.CharField(max_length=64)
    write_date = models.CharField(max_length=32, blank=True, help_text="Odoo's write_date, 'YYYY-MM-DD HH:MM:SS'.")
    last_id = models.PositiveBigIntegerField(default=0, help_text="Tie-break among records with the same write_date.")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "model"], name="sync_one_watermark")]

    def __str__(self):
        return f"{self.target} {self.model} after {self.write_date or 'the beginning'}"


class SyncRun(models.Model):
    """A pull or reconciliation run, with its figures (the operations view lists them)."""

    class Kind(models.TextChoices):
        PULL = "pull", "Inbound pull"
        RECONCILE = "reconcile", "Reconciliation"
        BACKFILL = "backfill", "Backfill"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, default="running")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.target} at {self.started_at:%Y-%m-%d %H:%M}"
