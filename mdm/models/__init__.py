from .golden import GoldenChild, GoldenQuerySet, GoldenRecord, GoldenRecordDeleteError, StaleVersionError
from .matching import MatchCandidate, MatchDecision, MatchKey, MatchModel, MatchRun
from .sources import Crosswalk, ImmutableRowError, IngestBatch, QuarantinedRecord, SourceRecord, SourceSystem
from .tasks import StewardTask

__all__ = [
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
