"""The audit log over the API, for auditors (``mdm.view_auditevent``): a filtered list, one row, a CSV export.

The list filters are the admin's (``mdm.audit_log.AuditEventFilterSet``); the export is streamed and writes an
``audit.export`` row of its own.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter

from mdm.api.changes import CSVRenderer
from mdm.audit_log import AuditEventFilterSet, audit_events, audit_export
from mdm.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", read_only=True, help_text="The actor's username.")
    detail = serializers.JSONField(read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "action",
            "actor",
            "via",
            "object_type",
            "object_id",
            "object_repr",
            "correlation_id",
            "ip",
            "detail",
        ]
        read_only_fields = fields


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Sensitive reads and writes: unmasked bank details viewed or exported, permission, token and credential
    changes, delivery replays, key rotations, audit exports. Newest first."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "at"]
    ordering = ["-at", "-id"]

    def get_queryset(self):
        return audit_events()

    @extend_schema(
        summary="Export the audit log as CSV",
        description="The list's filters apply. Streamed, oldest first. Writes an `audit.export` row (filter, "
        "row count) that is not itself in the file.",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per audit event.")},
    )
    @action(
        detail=False, methods=["get"], renderer_classes=[renderers.JSONRenderer, CSVRenderer], pagination_class=None
    )
    def export(self, request):
        qs = self.filter_queryset(self.get_queryset())
        filters = {
            key: request.query_params.getlist(key)
            for key in AuditEventFilterSet.Meta.fields
            if key in request.query_params
        }
        filters = {key: value[0] if len(value) == 1 else value for key, value in filters.items()}
        response = StreamingHttpResponse(
            audit_export(qs, request=request, filters=filters), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate()}.csv"'
        return response


def register_routes(router) -> None:
    router.register("audit", AuditEventViewSet, basename="audit")
