"""Validation of item payloads from source systems (the contract in docs/ingest-payloads.md)."""

from rest_framework import serializers
from rest_framework.settings import api_settings

from items.choices import ItemType
from items.rules import packaging_problems
from mdm.identifiers import clean_gtin, clean_ndc, clean_udi_di, clean_unspsc
from mdm.payload_fields import OptionalCharField, run_cleaner
from uom.serializers import UnitCodeField


def _flag():
    return serializers.BooleanField(required=False, allow_null=True, default=None)


class PackagingLevelPayloadSerializer(serializers.Serializer):
    unit = UnitCodeField(max_length=64)
    quantity = serializers.IntegerField(
        min_value=1,
        error_messages={"min_value": "Quantity must be at least 1: how many of the next lower level this level holds."},
    )
    gtin = OptionalCharField(max_length=32)

    def validate_gtin(self, value):
        return run_cleaner(clean_gtin, value) if value.strip() else ""


class ItemPayloadSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=2000)
    short_name = OptionalCharField(max_length=255)
    manufacturer = OptionalCharField(max_length=255)
    manufacturer_part_number = OptionalCharField(max_length=100)
    item_type = serializers.ChoiceField(choices=ItemType.choices)
    unspsc = OptionalCharField(max_length=16)
    sterile = _flag()
    latex_free = _flag()
    single_use = _flag()
    implantable = _flag()
    prescription = _flag()
    ndc = OptionalCharField(max_length=16)
    gudid_di = OptionalCharField(max_length=32)
    base_unit = UnitCodeField(max_length=64)
    packaging = PackagingLevelPayloadSerializer(many=True, required=False, default=list)
    # Kept exactly as the source wrote it: the pack parser reads the source's own notation.
    pack_string = OptionalCharField(max_length=255, trim_whitespace=False)

    def validate_unspsc(self, value):
        return run_cleaner(clean_unspsc, value) if value else ""

    def validate_ndc(self, value):
        return run_cleaner(clean_ndc, value) if value else ""

    def validate_gudid_di(self, value):
        return run_cleaner(clean_udi_di, value) if value else ""

    def validate(self, attrs):
        errors = {}
        if attrs.get("ndc") and attrs["item_type"] != ItemType.DRUG:
            errors["ndc"] = [
                f"An NDC is only allowed for drugs (item_type 'drug'); this item is '{attrs['item_type']}'."
            ]
        problems = packaging_problems(attrs.get("packaging") or [], base_unit=attrs["base_unit"])
        if problems:
            # Same shape as DRF's own nested-list errors ({index: {field: [...]}} by default), so a client
            # reads packaging[1].gtin the same way whether a field check or a cross-level rule failed.
            if api_settings.LIST_SERIALIZER_ERRORS_AS_DICT:
                errors["packaging"] = problems
            else:
                errors["packaging"] = [problems.get(index, {}) for index in range(len(attrs["packaging"]))]
        if not problems:
            conflicts = self._pack_string_conflicts(attrs)
            if conflicts:
                errors["pack_string"] = conflicts
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _pack_string_conflicts(self, attrs) -> list[str]:
        """A pack string that contradicts the packaging sent with it ("CS 10BX/100EA" against a case of 500 EA)
        is refused; one that can't be read unambiguously is kept as the source wrote it, not guessed."""
        from uom.conversions import ConversionError, Packaging, PackagingLevel
        from uom.packstrings import pack_conflicts, pack_parse

        text, levels = attrs.get("pack_string"), attrs.get("packaging") or []
        if not text or not levels:
            return []
        code = lambda unit: getattr(unit, "code", unit)  # noqa: E731 - codes from serializers, units from services
        packaging = Packaging(
            base_unit=code(attrs["base_unit"]),
            levels=tuple(
                PackagingLevel(level=index, unit=code(level["unit"]), quantity=level["quantity"])
                for index, level in enumerate(levels)
            ),
        )
        try:
            return pack_conflicts(pack_parse(text, system=self.context.get("system")), packaging)
        except ConversionError:
            return []
