"""Serializers for source systems, source records, quarantine and the ingest endpoint."""

from rest_framework import serializers

from mdm import registry
from mdm.models import Crosswalk, IngestBatch, QuarantinedRecord, SourceRecord, SourceSystem
from mdm.payload_secrets import masked, secret_paths


class SourceSystemSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceSystem
        fields = ["id", "name", "kind", "trust_rank", "description", "is_active", "created_at"]


class CrosswalkSerializer(serializers.ModelSerializer):
    linked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Crosswalk
        fields = ["golden_id", "linked_at", "linked_by", "link_method", "match_score"]


class MaskedPayloadMixin:
    """Secret payload values (bank numbers) are shown as ``••••6789``, never as stored ciphertext."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["payload"] = masked(data["payload"], secret_paths(instance.entity_type))
        return data


class SourceRecordSerializer(MaskedPayloadMixin, serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    crosswalk = CrosswalkSerializer(read_only=True)

    class Meta:
        model = SourceRecord
        fields = [
            "id",
            "system",
            "entity_type",
            "external_id",
            "version",
            "is_current",
            "payload",
            "standardized",
            "payload_hash",
            "validation_errors",
            "received_at",
            "batch",
            "crosswalk",
        ]


class QuarantinedRecordSerializer(MaskedPayloadMixin, serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = QuarantinedRecord
        fields = [
            "id",
            "system",
            "entity_type",
            "external_id",
            "payload",
            "payload_hash",
            "errors",
            "status",
            "received_at",
            "resolved_at",
            "batch",
        ]


class IngestBatchSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = IngestBatch
        fields = [
            "id",
            "system",
            "entity_type",
            "channel",
            "filename",
            "actor",
            "status",
            "total",
            "stored",
            "unchanged",
            "rejected",
            "started_at",
            "finished_at",
        ]


class IngestRecordSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=255, help_text="The record's id in the source system.")
    payload = serializers.DictField(help_text="The record in the hub's canonical form for the entity type.")


class IngestRequestSerializer(serializers.Serializer):
    """Documents the request; the service checks the records themselves so it can report per record."""

    system = serializers.SlugRelatedField(
        slug_field="name", queryset=SourceSystem.objects.all(), help_text="Name of a registered source system."
    )
    entity_type = serializers.CharField(help_text="supplier, item, unit, contract or contract_price.")
    records = IngestRecordSerializer(many=True, help_text="Up to INGEST_MAX_BATCH (default 1,000) records.")

    def validate_entity_type(self, value):
        if value not in registry.entity_types():
            raise serializers.ValidationError(
                f"Unknown entity type '{value}'; expected one of: {', '.join(registry.entity_types())}."
            )
        return value


class IngestResultRecordSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["stored", "unchanged", "rejected"])
    source_record = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(required=False)


class IngestResponseSerializer(serializers.Serializer):
    batch = IngestBatchSerializer()
    results = IngestResultRecordSerializer(many=True)
