"""FilterSets for the shared MDM models (used by the API and, later, the steward UI)."""

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from mdm.models import IngestBatch, QuarantinedRecord, SourceRecord

# The largest id or whole number any supported database stores (a signed 64-bit integer). A larger number in a
# filter is a form error; SQLite could not even bind it (a 500).
MAX_DB_INTEGER = 2**63 - 1


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59 (a 500 from the database otherwise);
    and a date-time near year 1 or 9999 may have no UTC equivalent at all.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(
                f"'{value.isoformat()}' is out of the supported range.", code="overflow"
            ) from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` whose value reaches the database in UTC (see :class:`UTCIsoDateTimeField`)."""

    field_class = UTCIsoDateTimeField


class SourceRecordFilterSet(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="system__name")
    golden_id = django_filters.NumberFilter(field_name="crosswalk__golden_id")
    linked = django_filters.BooleanFilter(field_name="crosswalk__golden_id", lookup_expr="isnull", exclude=True)
    received_after = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = SourceRecord
        fields = ["system", "entity_type", "external_id", "is_current", "batch", "golden_id", "linked"]


class QuarantinedRecordFilterSet(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="system__name")

    class Meta:
        model = QuarantinedRecord
        fields = ["system", "entity_type", "external_id", "status", "batch"]


class IngestBatchFilterSet(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="system__name")

    class Meta:
        model = IngestBatch
        fields = ["system", "entity_type", "channel", "status"]
