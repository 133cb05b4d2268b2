"""Choice sets for suppliers and the rows they own."""

from django.db import models


class ScreeningStatus(models.TextChoices):
    """Outcome of exclusion screening (OIG LEIE, SAM.gov exclusions): may the hospital buy from them?"""

    NOT_SCREENED = "not_screened", "Not screened"
    CLEAR = "clear", "Clear"
    FLAGGED = "flagged", "Flagged (possible match, under review)"
    EXCLUDED = "excluded", "Excluded"


class AliasKind(models.TextChoices):
    TRADING = "trading", "Trading name (d/b/a)"
    FORMER = "former", "Former name"
    SOURCE_VARIANT = "source_variant", "How a source system writes the name"


class AddressKind(models.TextChoices):
    REMIT_TO = "remit_to", "Remit to"
    ORDER_FROM = "order_from", "Order from"
    HEADQUARTERS = "headquarters", "Headquarters"
    SHIP_FROM = "ship_from", "Ship from"
    OTHER = "other", "Other"
