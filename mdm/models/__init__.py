from .golden import GoldenChild, GoldenQuerySet, GoldenRecord, GoldenRecordDeleteError, StaleVersionError
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
    "QuarantinedRecord",
    "SourceRecord",
    "SourceSystem",
    "StaleVersionError",
    "StewardTask",
]
