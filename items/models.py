"""Item golden records and their packaging hierarchy (each, box, case...)."""

import re
from math import prod

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords, HistoricForeignKey

from items.choices import ItemType
from mdm.identifiers import clean_gtin, clean_ndc, clean_udi_di, clean_unspsc, format_ndc11
from mdm.models import GoldenChild, GoldenRecord

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def part_number_key(text: str) -> str:
    """Matching key for a manufacturer part number: 'mx-450/b' and 'MX 450B' both give 'MX450B'."""
    return _NOT_ALNUM.sub("", str(text or "").upper())


def _require_canonical(value, clean, what: str) -> None:
    # Services and the payload serializer normalize before saving; this catches hand edits (admin)
    # that would store a form the filters and matchers never find.
    if value in (None, ""):
        return
    canonical = clean(value)  # raises a ValidationError that says what is wrong
    if canonical != value:
        raise ValidationError(f"Store the {what} as '{canonical}', not '{value}'.", code="not_canonical")


def validate_gtin14(value):
    _require_canonical(value, clean_gtin, "GTIN")


def validate_ndc11(value):
    _require_canonical(value, clean_ndc, "NDC")


def validate_unspsc(value):
    _require_canonical(value, clean_unspsc, "UNSPSC code")


def validate_udi_di(value):
    _require_canonical(value, clean_udi_di, "device identifier")


def eaches_per_level(quantities) -> list[int]:
    """Running product of per-level quantities, base level first: [1, 10, 100] -> [1, 10, 1000]."""
    out, running = [], 1
    for quantity in quantities:
        running *= quantity
        out.append(running)
    return out


class Item(GoldenRecord):
    """A purchasable product (supply, drug, device, implant) in its base unit, with its packaging levels."""

    description = models.CharField(max_length=2000)
    short_name = models.CharField(max_length=255, blank=True)
    manufacturer_name = models.CharField(max_length=255, blank=True, db_index=True)
    manufacturer_part_number = models.CharField(max_length=100, blank=True)
    part_number_key = models.CharField(
        max_length=100,
        blank=True,
        editable=False,
        db_index=True,
        help_text="Manufacturer part number upper-cased without separators, for matching.",
    )
    item_type = models.CharField(max_length=16, choices=ItemType.choices, db_index=True)
    unspsc = models.CharField(
        "UNSPSC", max_length=8, blank=True, db_index=True, validators=[validate_unspsc], help_text="8 digits."
    )
    # Clinical flags: None means the source did not say, which is not the same as "no".
    sterile = models.BooleanField(null=True, blank=True)
    latex_free = models.BooleanField(null=True, blank=True)
    single_use = models.BooleanField(null=True, blank=True)
    implantable = models.BooleanField(null=True, blank=True)
    prescription = models.BooleanField(null=True, blank=True)
    ndc = models.CharField(
        "NDC",
        max_length=11,
        blank=True,
        db_index=True,
        validators=[validate_ndc11],
        help_text="National Drug Code, 11 digits (5-4-2) without hyphens. Drugs only.",
    )
    gudid_di = models.CharField(
        "GUDID DI",
        max_length=24,
        blank=True,
        db_index=True,
        validators=[validate_udi_di],
        help_text="GUDID primary device identifier: a 14-digit GTIN or a HIBCC '+...' identifier.",
    )
    base_unit = models.ForeignKey("uom.Unit", on_delete=models.PROTECT, related_name="+")
    # What one base unit holds (30 mL per vial, 500 mg per tablet): lets a quantity of the item be converted
    # to and from physical units. Both or neither.
    content_quantity = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Physical content of one base unit, e.g. 30 (mL per vial). Set together with the content unit.",
    )
    content_unit = models.ForeignKey(
        "uom.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Unit of the content per base unit, e.g. mL or mg.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_quantity__isnull=True, content_unit__isnull=True)
                | models.Q(content_quantity__gt=0, content_unit__isnull=False),
                name="item_content_complete_and_positive",
                violation_error_message="Give the content per base unit as a positive amount and a unit, or neither.",
            ),
        ]

    def __str__(self):
        return self.short_name or self.description[:80]

    @property
    def ndc_formatted(self) -> str:
        return format_ndc11(self.ndc)

    def clean(self):
        super().clean()
        if self.ndc and self.item_type != ItemType.DRUG:
            raise ValidationError(
                {"ndc": f"An NDC is only allowed for drugs (item type 'drug'); this item is '{self.item_type}'."}
            )
        self._clean_content()

    def _clean_content(self):
        has_quantity, has_unit = self.content_quantity is not None, self.content_unit_id is not None
        if has_quantity != has_unit:
            missing = "content_unit" if has_quantity else "content_quantity"
            raise ValidationError({missing: "Give the content per base unit as an amount and a unit, or neither."})
        if has_quantity and self.content_quantity <= 0:
            raise ValidationError({"content_quantity": "The content per base unit must be greater than zero."})
        if has_unit:
            from uom.errors import ConversionError
            from uom.registry import resolve_unit

            try:
                physical = resolve_unit(self.content_unit.code).factor is not None
            except ConversionError:
                physical = False
            if not physical:
                raise ValidationError(
                    {"content_unit": f"The content must be in a physical unit (mL, mg...), not '{self.content_unit}'."}
                )

    def save(self, *args, **kwargs):
        self.part_number_key = part_number_key(self.manufacturer_part_number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "manufacturer_part_number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "part_number_key"}
        super().save(*args, **kwargs)

    def eaches_per(self, level: int) -> int:
        """How many base units one unit of packaging ``level`` holds (the product of the quantities up to it).

        Reads ``packaging_levels.all()``, so a prefetch (or an ``as_of`` read) is honoured.
        """
        levels = sorted(self.packaging_levels.all(), key=lambda p: p.level)
        if not any(p.level == level for p in levels):
            raise ValueError(f"item {self.pk} has no packaging level {level}")
        return prod(p.quantity for p in levels if p.level <= level)


class ItemPackagingLevel(GoldenChild):
    """One level of an item's packaging: level 0 is the base unit; level n holds ``quantity`` of level n-1."""

    item = HistoricForeignKey(Item, on_delete=models.CASCADE, related_name="packaging_levels")
    level = models.PositiveSmallIntegerField(help_text="0 = base unit, 1 = the first pack up, and so on.")
    unit = models.ForeignKey("uom.Unit", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(help_text="How many of the next lower level one of this level holds.")
    gtin = models.CharField("GTIN", max_length=14, blank=True, db_index=True, validators=[validate_gtin14])

    history = HistoricalRecords()

    class Meta:
        ordering = ["item_id", "level"]
        constraints = [
            models.UniqueConstraint(fields=["item", "level"], name="item_packaging_level_unique"),
            # A GTIN identifies one trade item: two packaging rows with it would make scans ambiguous.
            models.UniqueConstraint(
                fields=["gtin"],
                condition=~models.Q(gtin=""),
                name="item_packaging_gtin_unique",
                violation_error_message="This GTIN already identifies another packaging level; a GTIN belongs "
                "to one packaging level of one item.",
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="item_packaging_quantity_positive"),
            models.CheckConstraint(
                condition=~models.Q(level=0) | models.Q(quantity=1), name="item_packaging_base_quantity_one"
            ),
        ]

    def __str__(self):
        return f"level {self.level}: {self.quantity} x -> {self.unit_id}" + (f" GTIN {self.gtin}" if self.gtin else "")
