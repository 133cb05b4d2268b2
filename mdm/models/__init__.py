from .changes import (
    ApprovalScope,
    ChangeApproval,
    ChangeComment,
    ChangeRequest,
    DecisionLog,
    GoldenLineage,
    MergeRecord,
    PinnedValue,
)
from .golden import GoldenChild, GoldenQuerySet, GoldenRecord, GoldenRecordDeleteError, StaleVersionError
from .matching import MatchCandidate, MatchDecision, MatchKey, MatchModel, MatchRun
from .security import AccessLimit, ApiToken, AuditEvent
from .sources import Crosswalk, ImmutableRowError, IngestBatch, QuarantinedRecord, SourceRecord, SourceSystem
from .tasks import StewardTask

__all__ = [
    "AccessLimit",
    "ApiToken",
    "AuditEvent",
    "ApprovalScope",
    "ChangeApproval",
    "ChangeComment",
    "ChangeRequest",
    "DecisionLog",
    "GoldenLineage",
    "MergeRecord",
    "PinnedValue",
    "Crosswalk",
    "GoldenChild",
    "GoldenQuerySet",
    "GoldenRecord",
    "GoldenRecordDeleteError",
    "ImmutableRowError",
    "IngestBatch",
    "MatchCandidate",
    "MatchDecision",
    "MatchKey",
    "MatchModel",
    "MatchRun",
    "QuarantinedRecord",
    "SourceRecord",
    "SourceSystem",
    "StaleVersionError",
    "StewardTask",
]
