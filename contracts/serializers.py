"""Validation of contract and contract price payloads from source systems (docs/ingest-payloads.md).

References to other records (``supplier``, ``contract``, ``item``) are external ids in the same source
system; they are resolved through the crosswalk when a golden record is created (see services), not
here: a price may arrive before its contract has been linked.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty

from contracts.choices import ContractKind
from mdm.identifiers import clean_currency, clean_gtin
from mdm.payload_fields import IdentifierField, OptionalCharField, run_cleaner
from uom.serializers import UnitCodeField


class ExternalIdField(serializers.CharField):
    """The external id of another record of the same source system (a string; a number is accepted)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("help_text", "External id in the same source system.")
        super().__init__(**kwargs)


class LowerCaseChoiceField(serializers.ChoiceField):
    """A choice given in any case ("GPO", "gpo")."""

    def to_internal_value(self, data):
        return super().to_internal_value(data.strip().lower() if isinstance(data, str) else data)


def _date_order(attrs: dict) -> None:
    start, end = attrs.get("start_date"), attrs.get("end_date")
    if start and end and end < start:
        raise serializers.ValidationError(
            {"end_date": [f"The end date {end} is before the start date {start}; it must be on or after it."]}
        )


class ContractPayloadSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=100)
    supplier = ExternalIdField(help_text="External id of the supplier in the same source system.")
    supplier_name = OptionalCharField(max_length=255, help_text="As written in the source (kept for stewards).")
    kind = LowerCaseChoiceField(choices=ContractKind.choices)
    gpo_name = OptionalCharField(max_length=255)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    currency = serializers.CharField(max_length=8, help_text="ISO 4217 code, e.g. USD.")
    # Left out of the standardized payload when absent (default=empty), so older payloads keep their form.
    facility = OptionalCharField(
        max_length=64,
        default=empty,
        help_text="The facility or business unit a local contract belongs to; empty or absent: group-wide.",
    )

    def validate_facility(self, value):
        return " ".join(value.split()) if value else ""

    def validate_currency(self, value):
        try:
            return clean_currency(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs):
        _date_order(attrs)
        return attrs


class ContractPricePayloadSerializer(serializers.Serializer):
    """A price line. GPO and distributor files name the item by GTIN or manufacturer part number
    (``item_gtin``, ``item_part_number``): used when the ``item`` external id is not linked to a golden item."""

    contract = ExternalIdField(help_text="External id of the contract in the same source system.")
    item = ExternalIdField(help_text="External id of the item in the same source system.")
    # Optional and left out of the standardized payload when absent (default=empty).
    item_gtin = IdentifierField(
        clean_gtin, default=empty, help_text="GTIN of the item at any packaging level (stored as 14 digits)."
    )
    item_part_number = OptionalCharField(max_length=100, default=empty, help_text="Manufacturer part number.")
    item_manufacturer = OptionalCharField(max_length=255, default=empty, help_text="Manufacturer, as written.")
    item_description = OptionalCharField(max_length=2000, default=empty, help_text="As written (for stewards).")
    currency = OptionalCharField(max_length=8, default=empty, help_text="ISO 4217; must be the contract's currency.")
    unit = UnitCodeField(max_length=64)
    price = serializers.DecimalField(
        max_digits=14,
        decimal_places=4,
        min_value=Decimal("0"),
        error_messages={
            "min_value": "A price cannot be negative.",
            "max_decimal_places": "A price has at most {max_decimal_places} decimal places; round it at the source.",
            "max_whole_digits": "A price has at most {max_whole_digits} digits before the decimal point.",
            "max_digits": "A price has at most {max_digits} digits in total.",
            "invalid": 'A price is a decimal number written as a string, e.g. "12.3400".',
        },
    )
    min_quantity = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=1,
        min_value=1,
        error_messages={"min_value": "The minimum quantity (the tier) is at least 1."},
    )
    max_quantity = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Upper end of the tier as the source states it (checked against the other tiers, not stored).",
        error_messages={"min_value": "The maximum quantity of a tier is at least 1."},
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField()

    def validate_min_quantity(self, value):
        return 1 if value is None else value

    def validate_currency(self, value):
        return run_cleaner(clean_currency, value) if value else ""

    def validate(self, attrs):
        _date_order(attrs)
        low, high = attrs.get("min_quantity") or 1, attrs.get("max_quantity")
        if high is not None and high < low:
            raise serializers.ValidationError(
                {"max_quantity": [f"The tier's maximum quantity {high} is below its minimum quantity {low}."]}
            )
        return attrs
