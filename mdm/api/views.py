"""API views for source systems, source records (read and ingest), quarantine and ingest batches."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from mdm.api.exceptions import Conflict, PayloadTooLarge
from mdm.api.serializers import (
    IngestBatchSerializer,
    IngestRequestSerializer,
    IngestResponseSerializer,
    QuarantinedRecordSerializer,
    SourceRecordSerializer,
    SourceSystemSerializer,
)
from mdm.filters import IngestBatchFilterSet, QuarantinedRecordFilterSet, SourceRecordFilterSet
from mdm.models import IngestBatch, QuarantinedRecord, SourceRecord, SourceSystem
from mdm.services.ingest import IngestBatchError, source_records_ingest


def _check_ingest_body(request) -> None:
    """Refuse, before reading it, a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413) or one that is not JSON (415).

    DRF reads JSON from the request stream, where Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check does not apply.
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise PayloadTooLarge(
            f"The request body is {length / 1048576:.1f} MB; the API accepts at most {limit / 1048576:.1f} MB "
            f"(DATA_UPLOAD_MAX_MEMORY_SIZE). Send the records in smaller batches (at most {settings.INGEST_MAX_BATCH} "
            "records each)."
        )
    media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if length and media_type != "application/json":
        raise UnsupportedMediaType(
            media_type or "none",
            detail=f"Ingest takes a JSON body (Content-Type: application/json), not {media_type or 'no type'}. "
            "Import CSV or XLSX files with `manage.py source_records_import`.",
        )


class SourceSystemViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = SourceSystem.objects.all()
    serializer_class = SourceSystemSerializer
    search_fields = ["name", "description"]
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["name", "trust_rank"]


class SourceRecordViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Source records as received. ``POST`` ingests a batch for one source system and entity type."""

    queryset = SourceRecord.objects.select_related("system", "crosswalk", "crosswalk__linked_by")
    required_scope = "ingest"  # token scope for POST (mdm.api.permissions)
    serializer_class = SourceRecordSerializer
    filterset_class = SourceRecordFilterSet
    search_fields = ["external_id"]
    ordering_fields = ["received_at", "external_id", "version"]
    parser_classes = [JSONParser]  # ingest is JSON only: no form or multipart bodies (and the schema says so)

    @extend_schema(
        request=IngestRequestSerializer,
        responses={200: IngestResponseSerializer, 400: None, 409: None, 413: None, 415: None},
        summary="Ingest a batch of source records",
        description=(
            "Idempotent: a record whose payload is unchanged is reported `unchanged`; a changed payload "
            "becomes a new version (the old one is kept); an invalid one is `rejected` with field-level "
            "reasons and kept in quarantine. A batch-level problem (unknown system or entity type, "
            "duplicate external ids, more than the limit) writes nothing. The response is 200 whenever "
            "the batch was processed; check each record's `outcome`."
        ),
    )
    def create(self, request, *args, **kwargs):
        _check_ingest_body(request)
        data = request.data if isinstance(request.data, dict) else {}
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object with system, entity_type and records."]})
        head = IngestRequestSerializer(data={k: data.get(k) for k in ("system", "entity_type")}, partial=True)
        errors = {}
        if not head.is_valid():
            errors.update(head.errors)
        for key in ("system", "entity_type"):
            if data.get(key) in (None, ""):
                errors[key] = ["This field is required."]
        if "records" not in data:
            errors["records"] = ["This field is required."]
        if errors:
            raise ValidationError(errors)
        try:
            result = source_records_ingest(
                system=head.validated_data["system"],
                entity_type=head.validated_data["entity_type"],
                records=data["records"],
                actor=request.user,
                channel=IngestBatch.Channel.API,
            )
        except IngestBatchError as exc:
            if exc.status_code == 413:
                raise PayloadTooLarge(detail=exc.errors) from exc
            if exc.status_code == 409:
                raise Conflict(detail=exc.errors) from exc
            raise ValidationError(exc.errors) from exc
        body = {
            "batch": IngestBatchSerializer(result.batch).data,
            "results": [
                {
                    "index": r.index,
                    "external_id": r.external_id,
                    "outcome": r.outcome,
                    "source_record": r.source_record_id,
                    "version": r.version,
                    **({"errors": r.errors} if r.errors else {}),
                }
                for r in result.results
            ],
        }
        return Response(body, status=status.HTTP_200_OK)


class QuarantinedRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Payloads rejected at ingest, with their field-level reasons."""

    queryset = QuarantinedRecord.objects.select_related("system")
    serializer_class = QuarantinedRecordSerializer
    filterset_class = QuarantinedRecordFilterSet
    search_fields = ["external_id"]
    ordering_fields = ["received_at"]


class IngestBatchViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = IngestBatch.objects.select_related("system", "actor")
    serializer_class = IngestBatchSerializer
    filterset_class = IngestBatchFilterSet
    ordering_fields = ["started_at"]
