"""DRF fields shared by the domain apps' payload serializers (the ingest validation step)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty


def run_cleaner(clean, value: str) -> str:
    """Run an ``mdm.identifiers`` cleaner; its Django ValidationError becomes a DRF field error."""
    try:
        return clean(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


class OptionalCharField(serializers.CharField):
    """An optional text field; null (as many sources send for "empty") is stored as ""."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        value = super().run_validation(data)
        return "" if value is None else value


class IdentifierField(OptionalCharField):
    """An optional identifier checked and normalized by an ``mdm.identifiers`` cleaner.

    ``max_length`` is generous: sources send the printed form (``12-345-6789``, ``DE 136 695 976``).
    """

    def __init__(self, clean, **kwargs):
        self.clean = clean
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        # Blank and null never get here (allow_blank / allow_null answer first).
        return run_cleaner(self.clean, value)
