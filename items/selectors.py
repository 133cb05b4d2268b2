"""Reads for items."""

from django.db.models import Prefetch, QuerySet

from items.models import Item, ItemPackagingLevel
from mdm.identifiers import clean_gtin


def item_list() -> QuerySet[Item]:
    """Items with their base unit and packaging levels (with units) loaded: a constant number of queries."""
    return Item.objects.select_related("base_unit").prefetch_related(
        Prefetch("packaging_levels", ItemPackagingLevel.objects.select_related("unit").order_by("level"))
    )


def packaging_level_by_gtin(gtin: str) -> ItemPackagingLevel | None:
    """The packaging level a GTIN (8, 12, 13 or 14 digits) identifies, with its item; None if unknown.

    Raises Django's ``ValidationError`` when ``gtin`` is not a valid GTIN.
    """
    return ItemPackagingLevel.objects.select_related("item", "unit").filter(gtin=clean_gtin(gtin)).first()
