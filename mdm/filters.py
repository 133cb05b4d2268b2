"""FilterSets for the shared MDM models (used by the API and, later, the steward UI)."""

import django_filters

from mdm.models import IngestBatch, QuarantinedRecord, SourceRecord


class SourceRecordFilterSet(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="system__name")
    golden_id = django_filters.NumberFilter(field_name="crosswalk__golden_id")
    linked = django_filters.BooleanFilter(field_name="crosswalk__golden_id", lookup_expr="isnull", exclude=True)
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

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
