"""What the matching engine leaves in the database: blocking keys, trained models, runs, candidates, decisions.

The engine itself (``mdm.matching``) is plain Python; these tables make it online (keys are an indexed
lookup), auditable (runs, explanations) and teachable (steward decisions are remembered and never re-asked).

Record references: ``g:<golden id>`` for a golden record, ``c:<crosswalk id>`` for a source identity (a
source system's record across all its versions).
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


def golden_ref(golden_id: int) -> str:
    return f"g:{golden_id}"


def source_ref(crosswalk_id: int) -> str:
    return f"c:{crosswalk_id}"


def ordered_refs(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class MatchKey(models.Model):
    """One blocking key of one golden record: an online match is an index query on ``(entity_type, key)``."""

    entity_type = models.CharField(max_length=32)
    key = models.CharField(max_length=255)
    golden_id = models.PositiveBigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["entity_type", "key"], name="match_key_lookup_idx"),
            models.Index(fields=["entity_type", "golden_id"], name="match_key_record_idx"),
        ]

    def __str__(self):
        return f"{self.entity_type} {self.key} -> {self.golden_id}"


class MatchModel(models.Model):
    """The trained match model (Fellegi-Sunter m/u per field level, prior) of one entity type."""

    entity_type = models.CharField(max_length=32, unique=True)
    params = models.JSONField()
    trained_at = models.DateTimeField()
    trained_on = models.PositiveIntegerField(default=0, help_text="Number of records the model was trained on.")
    run = models.ForeignKey("MatchRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self):
        return f"{self.entity_type} model ({self.trained_at:%Y-%m-%d %H:%M})"


class MatchRun(models.Model):
    class Mode(models.TextChoices):
        BATCH = "batch", "Batch (whole master)"
        INCREMENTAL = "incremental", "Incremental (new and changed source records)"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    entity_type = models.CharField(max_length=32, db_index=True)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    parameters = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    records = models.PositiveIntegerField(default=0, help_text="Records matched.")
    candidate_pairs = models.PositiveBigIntegerField(default=0, help_text="Pairs scored after blocking.")
    match_pairs = models.PositiveIntegerField(default=0, help_text="Pairs in the match band.")
    review_pairs = models.PositiveIntegerField(default=0, help_text="Pairs in the review band.")
    auto_linked = models.PositiveIntegerField(default=0, help_text="Source records linked automatically.")
    created_golden = models.PositiveIntegerField(default=0, help_text="Golden records created for new entities.")
    clusters = models.PositiveIntegerField(default=0, help_text="Clusters of two or more records.")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per stage.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.get_mode_display()} {self.entity_type} run #{self.pk}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class MatchCandidate(models.Model):
    """A pair the engine proposes: two golden records that look like one entity (``duplicate``), or a source
    record that looks like an existing golden record (``link``). Stewards decide; the decision is remembered."""

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", "Possible duplicate golden records"
        LINK = "link", "Source record matches a golden record"

    class Band(models.TextChoices):
        MATCH = "match", "Match"
        REVIEW = "review", "Review"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DEFERRED = "deferred", "Deferred"
        CONFIRMED = "confirmed", "Confirmed match"
        REJECTED = "rejected", "Not a match"
        SUPERSEDED = "superseded", "Superseded"

    entity_type = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    left_ref = models.CharField(max_length=32, help_text="g:<golden id> or c:<crosswalk id>.")
    right_ref = models.CharField(max_length=32, help_text="g:<golden id>.")
    left_golden_id = models.PositiveBigIntegerField(null=True, blank=True)
    right_golden_id = models.PositiveBigIntegerField()
    source_record = models.ForeignKey(
        "mdm.SourceRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="match_candidates"
    )
    probability = models.FloatField()
    match_weight = models.FloatField()
    band = models.CharField(max_length=8, choices=Band.choices)
    explanation = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(
        default=2, help_text="1 = look first (the match band, or a link a feed is waiting for), 3 = low."
    )
    run = models.ForeignKey(MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "-probability", "id"]
        indexes = [
            models.Index(fields=["entity_type", "status", "priority"], name="match_candidate_inbox_idx"),
            models.Index(fields=["right_golden_id"], name="match_candidate_right_idx"),
            models.Index(fields=["left_golden_id"], name="match_candidate_left_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["entity_type", "left_ref", "right_ref"],
                condition=models.Q(status__in=["open", "deferred"]),
                name="match_candidate_one_pending_per_pair",
            )
        ]

    def __str__(self):
        return f"{self.entity_type} {self.left_ref} ~ {self.right_ref} ({self.probability:.3f})"


class MatchDecision(models.Model):
    """A steward's decision on a pair: match or not a match. The engine obeys it and never proposes it again."""

    entity_type = models.CharField(max_length=32)
    left_ref = models.CharField(max_length=32)
    right_ref = models.CharField(max_length=32)
    is_match = models.BooleanField()
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)
    candidate = models.ForeignKey(MatchCandidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evidence = models.JSONField(default=dict, blank=True, help_text="The explanation the steward saw.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity_type", "left_ref", "right_ref"], name="match_decision_one_per_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(left_ref__lt=models.F("right_ref")), name="match_decision_ordered"
            ),
        ]

    def __str__(self):
        verdict = "match" if self.is_match else "not a match"
        return f"{self.entity_type} {self.left_ref} / {self.right_ref}: {verdict}"
