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


def item_packaging(item_id: int):
    """Item ``item_id``'s packaging as ``uom.conversions.Packaging`` (hub unit codes, base level first).

    One query for an item with packaging levels (two without). Raises ``uom.conversions.ConversionError``
    (code ``unknown_item``, field ``item``) when there is no such item. Registered with uom at start-up as
    its packaging provider.
    """
    from uom.conversions import ConversionError, Packaging, PackagingLevel

    item_fields = ("item__base_unit__code", "item__content_quantity", "item__content_unit__code")
    rows = list(
        ItemPackagingLevel.objects.filter(item_id=item_id)
        .order_by("level")
        .values_list("level", "unit__code", "quantity", "gtin", *item_fields)
    )
    if rows:
        base_unit, content_quantity, content_unit = rows[0][4:]
        levels = tuple(PackagingLevel(level=r[0], unit=r[1], quantity=r[2], gtin=r[3]) for r in rows)
    else:
        item = Item.objects.filter(pk=item_id).values_list("base_unit__code", "content_quantity", "content_unit__code")
        if not item:
            raise ConversionError("unknown_item", f"There is no item {item_id}.", "item")
        base_unit, content_quantity, content_unit = item[0]
        levels = (PackagingLevel(level=0, unit=base_unit, quantity=1),)
    return Packaging(
        base_unit=base_unit,
        levels=levels,
        content_quantity=content_quantity.normalize() if content_quantity is not None else None,
        content_unit=content_unit or None,
    )


def item_packaging_problems(packaging) -> dict[str, list[str]]:
    """The item app's GTIN rules (``items.rules.packaging_problems``: one GTIN per level, indicator digits that
    differ per level, no variable-measure indicator 9) on a uom ``Packaging``, keyed like
    ``uom.conversions.packaging_problems`` (``levels[1]``). uom checks the rest of the structure itself."""
    from items.rules import packaging_problems

    levels = [
        {"unit": level.unit, "quantity": level.quantity, "gtin": level.gtin}
        for level in sorted(packaging.levels, key=lambda lv: lv.level)
    ]
    problems = packaging_problems(levels, base_unit=packaging.base_unit)
    return {f"levels[{index}]": fields["gtin"] for index, fields in problems.items() if fields.get("gtin")}
