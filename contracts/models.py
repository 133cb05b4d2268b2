"""Contracts with suppliers and their negotiated prices (per item, unit and quantity tier).

Dates are whole days and **inclusive at both ends**: a contract (or price) with ``start_date``
2025-01-01 and ``end_date`` 2025-12-31 applies on 31 December 2025 and not on 1 January 2026.
Expiry is derived from the dates (see :meth:`Contract.term`), never stored; the stored ``status``
(active, inactive, retired) is the record's lifecycle, set by stewards.

Every price line also carries its **price per base unit**: the price divided by how many of the item's
base units one price unit holds (a case of 10 boxes of 100 each is 1,000 EA), rounded half-even to
:data:`PER_BASE_UNIT_PLACES` decimal places, and the base unit it is expressed in. It is computed by
the write services from the item's packaging (``uom.conversions``) and recomputed when the packaging
changes (``contracts.services.contract_prices_recompute``). A price whose unit can't be converted to
the item's base unit keeps a null figure; the nightly price checks open a steward task for it.
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords, HistoricForeignKey

from contracts.choices import ContractKind, ContractTerm
from mdm.choices import RecordStatus
from mdm.identifiers import clean_currency
from mdm.models import GoldenRecord

PER_BASE_UNIT_PLACES = 10
"""Decimal places of the stored price per base unit (0.0000000001 of the currency): a box of 12 at 10.00
is 0.8333333333 per each. Computed exactly with fractions and rounded once, half-even; never a float."""


def per_base_unit(price: Decimal, base_units_per_unit: Decimal | Fraction) -> Decimal:
    """``price`` of one unit holding ``base_units_per_unit`` base units, per base unit.

    Exact until one half-even rounding to :data:`PER_BASE_UNIT_PLACES` places:

    >>> per_base_unit(Decimal("104.5"), Decimal("1000"))
    Decimal('0.1045000000')
    >>> per_base_unit(Decimal("10"), Fraction(1, 30))  # 10.00 per mL, 30 mL per vial
    Decimal('300.0000000000')
    """
    factor = Fraction(base_units_per_unit)
    if factor <= 0:
        raise ValueError(f"a unit holds a positive number of base units, not {base_units_per_unit}")
    scaled = Fraction(Decimal(price)) / factor * 10**PER_BASE_UNIT_PLACES
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest > scaled.denominator or (2 * rest == scaled.denominator and whole % 2):
        whole += 1
    return Decimal(whole).scaleb(-PER_BASE_UNIT_PLACES)


def validate_currency(value):
    """The stored form is the upper-case ISO 4217 code (services and serializers normalize before saving)."""
    canonical = clean_currency(value)  # raises a ValidationError that says what is wrong
    if canonical != value:
        raise ValidationError(f"Store the currency as '{canonical}', not '{value}'.", code="not_canonical")


def _term(start: dt.date, end: dt.date, on_date: dt.date) -> str:
    if on_date < start:
        return ContractTerm.PENDING
    if on_date > end:
        return ContractTerm.EXPIRED
    return ContractTerm.IN_EFFECT


def _dates(start, end) -> bool:
    """Both are dates (a malformed value is reported by the field's own validation)."""
    return isinstance(start, dt.date) and isinstance(end, dt.date)


def _end_before_start(start, end) -> dict[str, list[str]]:
    if _dates(start, end) and end < start:
        return {"end_date": [f"The end date {end} is before the start date {start}; it must be on or after it."]}
    return {}


class Contract(GoldenRecord):
    """An agreement with a supplier (a GPO agreement, a local deal, a distributor agreement).

    ``start_date`` and ``end_date`` are inclusive. Whether it is in effect on a day is derived from
    them and the lifecycle ``status`` (see :meth:`is_in_effect`).
    """

    number = models.CharField(max_length=100, help_text="The contract number as the supplier or GPO writes it.")
    supplier = models.ForeignKey("suppliers.Supplier", on_delete=models.PROTECT, related_name="contracts")
    kind = models.CharField(max_length=16, choices=ContractKind.choices, db_index=True)
    gpo_name = models.CharField(
        "GPO name", max_length=255, blank=True, db_index=True, help_text="The GPO for GPO agreements (e.g. Vizient)."
    )
    start_date = models.DateField(help_text="First day the contract applies (inclusive).")
    end_date = models.DateField(help_text="Last day the contract applies (inclusive).")
    currency = models.CharField(
        max_length=3, validators=[validate_currency], help_text="ISO 4217 code of the contract's prices, e.g. USD."
    )
    facility = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="The facility or business unit a local contract belongs to (e.g. 'North Campus'); "
        "empty: group-wide, the contract applies to every facility.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "number"],
                name="contract_unique_number_per_supplier",
                violation_error_message="This supplier already has a contract with this number.",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="contract_end_on_or_after_start",
                violation_error_message="The end date must be on or after the start date.",
            ),
        ]
        indexes = [models.Index(fields=["start_date", "end_date"], name="contract_dates_idx")]

    def __str__(self):
        return self.number

    def clean(self):
        super().clean()
        errors = _end_before_start(self.start_date, self.end_date)
        if errors:
            raise ValidationError(errors)

    def term(self, on_date: dt.date | None = None) -> str:
        """``pending``, ``in_effect`` or ``expired`` on ``on_date`` (default today), from the dates only."""
        return _term(self.start_date, self.end_date, on_date or timezone.localdate())

    def is_in_effect(self, on_date: dt.date | None = None) -> bool:
        """True when the contract is active and ``on_date`` (default today) is within its dates, both inclusive."""
        return self.status == RecordStatus.ACTIVE and self.term(on_date) == ContractTerm.IN_EFFECT


_PER_BASE_INPUTS = {"price", "unit", "unit_id", "item", "item_id"}


class ContractPrice(GoldenRecord):
    """The price of an item on a contract, per ``unit`` and from ``min_quantity`` units on (a tier).

    ``start_date`` and ``end_date`` are inclusive and lie within the contract's dates. The price is
    in the contract's currency. Several tiers of one item and unit differ by ``min_quantity``; one
    tier has at most one (non-retired) price on a given day.
    """

    contract = HistoricForeignKey(Contract, on_delete=models.PROTECT, related_name="prices")
    item = models.ForeignKey("items.Item", on_delete=models.PROTECT, related_name="contract_prices")
    unit = models.ForeignKey("uom.Unit", on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(0, message="A price cannot be negative.")],
        help_text="Price of one ``unit``, in the contract's currency; up to 4 decimal places.",
    )
    min_quantity = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1, message="The minimum quantity is at least 1.")],
        help_text="Tier: the price applies from this quantity of ``unit`` on.",
    )
    start_date = models.DateField(help_text="First day the price applies (inclusive).")
    end_date = models.DateField(help_text="Last day the price applies (inclusive).")
    price_per_base_unit = models.DecimalField(
        max_digits=24,
        decimal_places=PER_BASE_UNIT_PLACES,
        null=True,
        blank=True,
        editable=False,
        help_text="The price of one of the item's base units (``base_unit``), computed from the item's packaging; "
        "empty when ``unit`` can't be converted to the base unit.",
    )
    base_unit = models.ForeignKey(
        "uom.Unit",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The item's base unit that ``price_per_base_unit`` is expressed in.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_per_base_unit__gte=0),
                name="contract_price_per_base_unit_not_negative",
                violation_error_message="A price per base unit cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0),
                name="contract_price_not_negative",
                violation_error_message="A price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(min_quantity__gte=1),
                name="contract_price_min_quantity_positive",
                violation_error_message="The minimum quantity is at least 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="contract_price_end_on_or_after_start",
                violation_error_message="The end date must be on or after the start date.",
            ),
        ]
        indexes = [
            models.Index(fields=["item", "contract"], name="contract_price_item_idx"),
            models.Index(fields=["item", "start_date", "end_date"], name="contract_price_item_dates_idx"),
        ]

    def __str__(self):
        unit = self.unit.code if self.unit_id else "?"
        return f"{self.price} per {unit} from {self.min_quantity} (item {self.item_id}, contract {self.contract_id})"

    def clean(self):
        super().clean()
        errors = _end_before_start(self.start_date, self.end_date)
        if not errors and self.contract_id and _dates(self.start_date, self.end_date):
            errors = self._outside_contract() or self._overlapping()
        if errors:
            raise ValidationError(errors)

    def _outside_contract(self) -> dict[str, list[str]]:
        contract = self.contract
        errors = {}
        if self.start_date < contract.start_date:
            errors["start_date"] = [
                f"The price starts on {self.start_date}, before contract {contract.number} starts "
                f"({contract.start_date}); a price applies within its contract's dates."
            ]
        if self.end_date > contract.end_date:
            errors["end_date"] = [
                f"The price ends on {self.end_date}, after contract {contract.number} ends "
                f"({contract.end_date}); a price applies within its contract's dates."
            ]
        return errors

    def _overlapping(self) -> dict[str, list[str]]:
        if self.status == RecordStatus.RETIRED or not (self.item_id and self.unit_id):
            return {}
        other = (
            ContractPrice.objects.filter(
                contract_id=self.contract_id,
                item_id=self.item_id,
                unit_id=self.unit_id,
                min_quantity=self.min_quantity,
                start_date__lte=self.end_date,
                end_date__gte=self.start_date,
            )
            .exclude(status=RecordStatus.RETIRED)
            .exclude(pk=self.pk)
            .only("pk", "start_date", "end_date")
            .first()
        )
        if other is None:
            return {}
        return {
            "start_date": [
                f"Contract price {other.pk} already prices this item per this unit from quantity {self.min_quantity} "
                f"from {other.start_date} to {other.end_date}, which overlaps {self.start_date} to {self.end_date}. "
                "End or retire the other price first: a tier has one price on any day."
            ]
        }

    def merge_blocked(self) -> bool:
        """True when repointing this price (item merge) would give the survivor two prices for one tier and day."""
        return bool(self._overlapping())

    def save(self, *args, **kwargs):
        # The per-base-unit figure follows the price, its unit and its item on every save (admin edits too).
        update_fields = kwargs.get("update_fields")
        if update_fields is None or _PER_BASE_INPUTS & set(update_fields):
            self.refresh_price_per_base_unit()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "price_per_base_unit", "base_unit"}
        super().save(*args, **kwargs)

    def refresh_price_per_base_unit(self, packaging=None) -> str:
        """Set ``price_per_base_unit`` and ``base_unit`` from the item's packaging (read when not given).

        Returns "" when the figure was computed, else why the price's unit can't be converted to the
        item's base unit (then the figure is None). Does not save.
        """
        from uom.conversions import ConversionError, item_conversion, packaging_for_item

        self.price_per_base_unit = None
        self.base_unit_id = self.item.base_unit_id if self.item_id else None
        if self.price in (None, "") or not (self.item_id and self.unit_id):
            return "The price has no amount, item or unit yet."
        try:
            packaging = packaging or packaging_for_item(self.item_id)
            # The exact factor (a fraction: 1 mL of a 30 mL vial is 1/30 vial), not a rounded Decimal.
            factor = item_conversion(packaging, 1, self.unit.code, packaging.base_unit).factor
        except ConversionError as exc:
            return str(exc)
        self.price_per_base_unit = per_base_unit(Decimal(self.price), factor)
        return ""

    def term(self, on_date: dt.date | None = None) -> str:
        """``pending``, ``in_effect`` or ``expired`` on ``on_date`` (default today), from the price's own dates."""
        return _term(self.start_date, self.end_date, on_date or timezone.localdate())
