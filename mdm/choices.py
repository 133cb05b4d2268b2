"""Choice sets shared by every golden record and by the source-record machinery."""

from django.db import models


class RecordStatus(models.TextChoices):
    """Lifecycle of a golden record. Records are never hard-deleted: they are retired."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    RETIRED = "retired", "Retired"


class SourceKind(models.TextChoices):
    ODOO = "odoo", "Odoo"
    FILE = "file", "File (CSV/XLSX catalog)"
    API = "api", "API"
    GPO = "gpo", "GPO price file"


class LinkMethod(models.TextChoices):
    """How a source record came to be linked to its golden record (the crosswalk's 'how')."""

    CREATED = "created", "Golden record created from this source record"
    IDENTIFIER = "identifier", "Exact identifier match"
    AUTO_MATCH = "auto_match", "Automatic fuzzy match above threshold"
    STEWARD = "steward", "Linked by a data steward"
    MERGE = "merge", "Moved by a merge"


class IngestOutcome(models.TextChoices):
    STORED = "stored", "Stored (new record or new version)"
    UNCHANGED = "unchanged", "Unchanged (same payload already stored)"
    REJECTED = "rejected", "Rejected (kept in quarantine)"
