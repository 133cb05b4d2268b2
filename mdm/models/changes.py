"""Change requests: every change to a golden record, proposed, approved by someone else, then applied.

A change request holds the proposed values (``changes``), the field-level ``diff`` against the version
it was based on (``base_version``), the requester and reason, and its approvals and comments. Applying
it writes the golden record's history and a :class:`DecisionLog` row in one transaction. Merges keep a
:class:`MergeRecord` of every row they moved so an unmerge can put each one back, also after later merges.
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class ChangeRequest(models.Model):
    class Kind(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        MERGE = "merge", "Merge"
        UNMERGE = "unmerge", "Unmerge"
        RETIRE = "retire", "Retire"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        APPLIED = "applied", "Applied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Origin(models.TextChoices):
        STEWARD = "steward", "Steward (web UI)"
        API = "api", "API"
        SURVIVORSHIP = "survivorship", "Survivorship (a source record changed)"
        MATCH = "match", "Match review"

    class Risk(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High (needs two approvers)"

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.APPROVED)

    entity_type = models.CharField(max_length=32, db_index=True)
    object_id = models.PositiveBigIntegerField(
        null=True, blank=True, db_index=True, help_text="The golden record changed (for a merge: the survivor)."
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    title = models.CharField(max_length=255, help_text="The record's label when the request was made.")
    changes = models.JSONField(default=dict, blank=True, help_text="The proposed values (field -> new value).")
    diff = models.JSONField(
        default=list, blank=True, help_text="Field-level diff against the base version: [{field, label, old, new}]."
    )
    base_version = models.PositiveIntegerField(null=True, blank=True, help_text="The golden version the diff is on.")
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="change_requests"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.STEWARD)
    source_record = models.ForeignKey(
        "mdm.SourceRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="change_requests"
    )
    match_candidate = models.ForeignKey(
        "mdm.MatchCandidate", null=True, blank=True, on_delete=models.PROTECT, related_name="change_requests"
    )
    evidence = models.JSONField(default=dict, blank=True, help_text="What the requester saw (match explanation).")
    risk = models.CharField(max_length=8, choices=Risk.choices, default=Risk.NORMAL)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    auto_approved = models.BooleanField(default=False, help_text="Approved by policy, not by a person.")
    # Denormalized scope keys: approvers are scoped by item category or supplier (ApprovalScope).
    scope_category = models.CharField(max_length=8, blank=True, db_index=True, help_text="UNSPSC code of the item.")
    scope_supplier_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    applied_version = models.PositiveIntegerField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_changerequest", "Can approve or reject change requests")]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="change_request_queue_idx"),
            models.Index(fields=["entity_type", "object_id", "status"], name="change_request_record_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display().lower()} {self.entity_type} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class ChangeApproval(models.Model):
    """One approver's verdict. Approvals given before a rebase are void: the approver saw another diff."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="approvals")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField(blank=True)
    base_version = models.PositiveIntegerField(null=True, blank=True)
    void = models.BooleanField(default=False, help_text="Given on a diff that was later rebased.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.actor} {self.decision} #{self.change_request_id}"


class ChangeComment(models.Model):
    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"comment on #{self.change_request_id} by {self.author}"


class DecisionLog(models.Model):
    """The decision log an auditor reads: who decided what about which record, why, on what evidence."""

    class Action(models.TextChoices):
        APPLIED = "applied", "Change applied"
        AUTO_APPLIED = "auto_applied", "Change applied by policy"
        REJECTED = "rejected", "Change rejected"
        WITHDRAWN = "withdrawn", "Change withdrawn"
        MATCH = "match", "Match confirmed"
        DISTINCT = "distinct", "Not a match"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entity_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=16, blank=True, help_text="create / update / merge / unmerge / retire.")
    summary = models.TextField(help_text="What changed, in words.")
    reason = models.TextField(blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    approvers = models.JSONField(default=list, blank=True)
    golden_version = models.PositiveIntegerField(null=True, blank=True)
    change_request = models.ForeignKey(
        ChangeRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    match_candidate = models.ForeignKey(
        "mdm.MatchCandidate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evidence = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["entity_type", "object_id"], name="decision_log_record_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.entity_type} {self.object_id}"


class MergeRecord(models.Model):
    """What a merge moved, row by row, so an unmerge restores the merged record and its links exactly."""

    entity_type = models.CharField(max_length=32)
    survivor_id = models.PositiveBigIntegerField(db_index=True)
    merged_id = models.PositiveBigIntegerField(db_index=True)
    merged_status = models.CharField(max_length=16, help_text="The merged record's status before the merge.")
    moves = models.JSONField(default=list, help_text="[{model, pk, field, old, new}] in the order applied.")
    change_request = models.OneToOneField(ChangeRequest, on_delete=models.PROTECT, related_name="merge_record")
    created_at = models.DateTimeField(auto_now_add=True)
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerge_request = models.OneToOneField(
        ChangeRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="unmerge_record"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["entity_type", "merged_id"], name="merge_record_merged_idx")]

    def __str__(self):
        return f"{self.entity_type} {self.merged_id} -> {self.survivor_id}"


class PinnedValue(models.Model):
    """A value a steward fixed: survivorship keeps it whatever the sources say, until unpinned."""

    entity_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=64)
    value = models.JSONField(null=True)
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    change_request = models.ForeignKey(ChangeRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "object_id", "field"], name="pinned_value_unique_field")
        ]

    def __str__(self):
        return f"{self.entity_type} {self.object_id}.{self.field} pinned"


class GoldenLineage(models.Model):
    """Where each value of a golden record came from: ``fields`` maps field -> {source, system, rule, at, ...}."""

    entity_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    fields = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity_type", "object_id"], name="golden_lineage_unique")]

    def __str__(self):
        return f"lineage of {self.entity_type} {self.object_id}"


class ApprovalScope(models.Model):
    """A slice of the master data an approver answers for: an item category, a supplier, or everything.

    Approvers get ``approve_in_scope`` on scope objects with django-guardian (per user or per group); a
    change request is theirs to approve when one of their scopes covers it.
    """

    name = models.CharField(max_length=100, unique=True)
    entity_type = models.CharField(max_length=32, blank=True, help_text="Empty: any entity type.")
    unspsc_prefix = models.CharField(
        "UNSPSC prefix",
        max_length=8,
        blank=True,
        help_text="Segment (2 digits), family (4), class (6) or commodity (8). Empty with no supplier: everything.",
    )
    supplier_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="Changes to this supplier.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("approve_in_scope", "Can approve change requests in this scope")]

    def __str__(self):
        return self.name

    @property
    def is_global(self) -> bool:
        return not self.unspsc_prefix and self.supplier_id is None
