"""Validation of unit payloads from source systems, and a reusable unit-code field for other apps."""

import re

from rest_framework import serializers

from uom.choices import Dimension
from uom.selectors import unit_resolve


class UnitCodeField(serializers.CharField):
    """A unit given by hub code or source alias; validates that it is known, returns the hub code."""

    default_error_messages = {
        "unknown": "Unknown unit '{value}': not a hub unit code and not an alias known for this source system.",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        unit = unit_resolve(value, system=self.context.get("system"), cache=self.context.get("cache"))
        if unit is None:
            self.fail("unknown", value=value)
        return unit.code


_UNECE = re.compile(r"^[A-Z0-9]{2,3}$")


class UnitPayloadSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)
    name = serializers.CharField(max_length=100)
    dimension = serializers.ChoiceField(choices=Dimension.choices)
    unece_code = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    ucum_code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    aliases = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)

    def validate_code(self, value):
        return value.strip().upper()

    def validate_unece_code(self, value):
        value = value.strip().upper()
        if value and not _UNECE.match(value):
            raise serializers.ValidationError(f"UN/ECE code '{value}' must be 2 or 3 letters or digits.")
        return value
