"""``GET /api/v1/trace/``: the chain behind a golden record, correlation id, change request or source record.

One of ``golden=supplier:12``, ``correlation_id=...``, ``change_request=17`` (or ``CR-17``), ``source_record=5``,
or ``q=`` with anything the trace page's search box takes. ``limit`` caps the rows per stage (default 20, at
most 100); each stage says how many ``more`` there are. The selector is ``sync.trace``; permissions as there:
stages the caller may not see come back empty with ``hidden`` saying why.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from sync import trace as tracing

# --- serializers (the response schema) ------------------------------------------------------------------------


class SourceItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    system = serializers.CharField()
    external_id = serializers.CharField()
    version = serializers.IntegerField()
    is_current = serializers.BooleanField()
    received_at = serializers.DateTimeField()
    batch_id = serializers.IntegerField(allow_null=True)
    channel = serializers.CharField(help_text="How the batch arrived: api, file, odoo, demo.")


class NamedSourceSerializer(SourceItemSerializer):
    entity_type = serializers.CharField()
    golden_id = serializers.IntegerField(allow_null=True, help_text="The golden record it is linked to (null: none).")


class MatchItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["link", "decision", "proposal"],
        help_text="link: how a source record was linked; decision: a steward's match / not-a-match; proposal: "
        "a pair the matching engine proposed.",
    )
    candidate = serializers.CharField(help_text="The other side: system:external id, g:<golden id>, c:<crosswalk id>.")
    score = serializers.FloatField(allow_null=True, help_text="Match probability, when there was one.")
    outcome = serializers.CharField()
    decided_by = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class ChangeItemSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    origin = serializers.CharField()
    title = serializers.CharField()
    requested_by = serializers.CharField()
    approvers = serializers.ListField(child=serializers.CharField())
    auto_approved = serializers.BooleanField()
    correlation_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True)
    applied_version = serializers.IntegerField(allow_null=True)


class VersionItemSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    at = serializers.DateTimeField()
    by = serializers.CharField()
    reason = serializers.CharField()
    type = serializers.CharField(help_text="created / changed / deleted.")


class EventItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    version = serializers.IntegerField()
    change_type = serializers.CharField()
    correlation_id = serializers.CharField()
    change_request = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True)


class DeliveryItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.CharField()
    target_id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    correlation_id = serializers.CharField()
    target_ref = serializers.CharField(help_text="The record's id at the target.")
    external_id = serializers.CharField(
        help_text="Its external id there (Odoo: __mdm__.<type>_<id>), from the key map."
    )
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()


class KeyItemSerializer(serializers.Serializer):
    target = serializers.CharField()
    target_id = serializers.IntegerField()
    target_model = serializers.CharField()
    target_ref = serializers.CharField()
    external_id = serializers.CharField()
    last_version = serializers.IntegerField()
    last_delivered_at = serializers.DateTimeField(allow_null=True)
    archived = serializers.BooleanField()


def _stage(item_serializer, name: str):
    return type(
        f"Trace{name}StageSerializer",
        (serializers.Serializer,),
        {
            "items": item_serializer(many=True),
            "more": serializers.IntegerField(help_text="Rows beyond the ones shown (raise limit to see more)."),
            "hidden": serializers.CharField(help_text="Why this stage is left out ('' when it is shown)."),
        },
    )


class TraceSubjectSerializer(serializers.Serializer):
    entity_type = serializers.CharField()
    object_id = serializers.IntegerField()
    label = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    sources = _stage(SourceItemSerializer, "Sources")()
    matches = _stage(MatchItemSerializer, "Matches")()
    change_requests = _stage(ChangeItemSerializer, "ChangeRequests")()
    versions = _stage(VersionItemSerializer, "Versions")()
    events = _stage(EventItemSerializer, "Events")()
    deliveries = _stage(DeliveryItemSerializer, "Deliveries")()
    keys = _stage(KeyItemSerializer, "Keys")()


class TraceQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["golden", "correlation", "change_request", "source_record"])
    value = serializers.CharField()


class TraceSerializer(serializers.Serializer):
    query = TraceQuerySerializer()
    found = serializers.BooleanField(help_text="false: nothing the caller may see (notes say why).")
    change_request = ChangeItemSerializer(allow_null=True)
    source_record = NamedSourceSerializer(allow_null=True)
    subjects = TraceSubjectSerializer(many=True, help_text="One chain per golden record involved.")
    more_subjects = serializers.IntegerField(help_text="Golden records involved beyond the ones shown.")
    notes = serializers.ListField(child=serializers.CharField())


# --- view -----------------------------------------------------------------------------------------------------


class MayTrace(permissions.BasePermission):
    message = "Tracing needs read access to golden records (e.g. the viewer role) or to deliveries (operations)."

    def has_permission(self, request, view):
        return tracing.may_trace(request.user)


PARAMS = {
    "golden": tracing.golden_query,
    "correlation_id": tracing.correlation_query,
    "change_request": tracing.change_request_query,
    "source_record": tracing.source_record_query,
    "q": tracing.parse,
}


class _OneTraceSchema(AutoSchema):
    """The trace is one object, though it is served by a router "list" route (not an array of traces)."""

    def _is_list_view(self, serializer=None):
        return False


class TraceViewSet(viewsets.ViewSet):
    """Trace a record from source to target (see ``sync.trace``)."""

    permission_classes = [MayTrace]
    schema = _OneTraceSchema()

    @extend_schema(
        summary="Trace a record from source to target",
        parameters=[
            OpenApiParameter("golden", OpenApiTypes.STR, description='A golden record: "supplier:12", "item:42".'),
            OpenApiParameter("correlation_id", OpenApiTypes.STR, description="A request's or job's correlation id."),
            OpenApiParameter("change_request", OpenApiTypes.STR, description='A change request: "17" or "CR-17".'),
            OpenApiParameter("source_record", OpenApiTypes.INT, description="A source record's id."),
            OpenApiParameter("q", OpenApiTypes.STR, description="Any of the above, as the trace page's search box."),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"Rows per stage (default {tracing.DEFAULT_LIMIT}, at most {tracing.MAX_LIMIT}).",
            ),
        ],
        responses={
            200: TraceSerializer,
            400: OpenApiResponse(description="No or more than one query parameter, or one that names nothing."),
            403: OpenApiResponse(description="No read access to golden records or deliveries."),
        },
    )
    def list(self, request):
        """The chain: source records -> match decisions -> change requests -> golden versions -> outbox events ->
        deliveries per target with the target's ids. Exactly one of ``golden``, ``correlation_id``,
        ``change_request``, ``source_record``, ``q``. Unknown ids give ``found: false`` with a note, not a 404."""
        given = [(name, request.query_params.get(name, "").strip()) for name in PARAMS]
        given = [(name, value) for name, value in given if value]
        if len(given) != 1:
            raise ValidationError(
                {
                    "non_field_errors": [
                        "Give exactly one of golden, correlation_id, change_request, source_record or q."
                    ]
                }
            )
        name, value = given[0]
        try:
            query = PARAMS[name](value)
        except tracing.TraceQueryError as exc:
            raise ValidationError({name: [str(exc)]}) from None
        try:
            limit = int(request.query_params.get("limit") or tracing.DEFAULT_LIMIT)
        except ValueError:
            raise ValidationError({"limit": ["A whole number from 1 to 100."]}) from None
        if not 1 <= limit <= tracing.MAX_LIMIT:
            raise ValidationError({"limit": [f"A whole number from 1 to {tracing.MAX_LIMIT}."]})
        if not tracing.may_trace(request.user):  # pragma: no cover - the permission class said so already
            raise PermissionDenied(MayTrace.message)
        result = tracing.trace(query, user=request.user, limit=limit)
        return Response(TraceSerializer(tracing.as_data(result)).data)
