from django.db import models


class ContractKind(models.TextChoices):
    GPO = "gpo", "GPO (group purchasing organization) agreement"
    LOCAL = "local", "Local agreement negotiated directly with the supplier"
    DISTRIBUTOR = "distributor", "Distributor agreement"


class ContractTerm(models.TextChoices):
    """Where a date falls relative to a contract's or price's dates; derived, never stored."""

    PENDING = "pending", "Not started yet"
    IN_EFFECT = "in_effect", "In effect"
    EXPIRED = "expired", "Expired"
