"""Matching API: online match of one record, proposals for stewards, decisions, runs.

``POST /api/v1/match/<suppliers|items>/`` scores one record against the golden records and returns the
top k with probability and explanation: for data entry ("did you mean...?") and for integrations that
check before they create. Nothing is written.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mdm import access, registry
from mdm.models import MatchCandidate, MatchDecision, MatchRun
from mdm.services import matching

MAX_TOP_K = 50


class ExplanationFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    kind = serializers.CharField()
    left = serializers.JSONField(help_text="The value compared, standardized.")
    right = serializers.JSONField()
    left_raw = serializers.JSONField(required=False)
    right_raw = serializers.JSONField(required=False)
    level = serializers.IntegerField()
    label = serializers.CharField(help_text="The comparison level, e.g. 'exact', 'close', 'conflict', 'missing'.")
    weight = serializers.FloatField(help_text="This field's contribution to the match weight (log2 odds).")


class ExplanationSerializer(serializers.Serializer):
    probability = serializers.FloatField()
    match_weight = serializers.FloatField(help_text="prior_weight + the fields' weights (log2 odds).")
    prior_weight = serializers.FloatField()
    band = serializers.ChoiceField(choices=["match", "review", "distinct"])
    decision = serializers.CharField(allow_null=True, help_text="A steward's remembered decision, if any.")
    fields = ExplanationFieldSerializer(many=True)


class OnlineMatchResultSerializer(serializers.Serializer):
    golden_id = serializers.IntegerField()
    url = serializers.CharField(help_text="The golden record in the API.")
    display = serializers.CharField()
    probability = serializers.FloatField()
    band = serializers.ChoiceField(choices=["match", "review", "distinct"])
    explanation = ExplanationSerializer()


def _record_serializer(spec) -> type[serializers.Serializer]:
    """The request body of an online match: the entity's match fields, every one optional."""
    attrs = {}
    for field in spec.matching.spec["fields"]:
        text = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
        if field.get("multi"):
            attrs[field["name"]] = serializers.ListField(
                child=serializers.CharField(max_length=2000, allow_blank=True),
                required=False,
                max_length=100,
                help_text=f"{field['kind']} (several values)",
            )
        else:
            text.help_text = field["kind"]
            attrs[field["name"]] = text

    def validate(self, data):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise ValidationError(
                {name: [f"Unknown field; expected some of: {', '.join(self.fields)}."] for name in unknown}
            )
        if not any(value for value in data.values()):
            raise ValidationError({"non_field_errors": ["Give at least one field to match on."]})
        return data

    attrs["validate"] = validate
    return type(f"{spec.label.replace(' ', '')}MatchRecordSerializer", (serializers.Serializer,), attrs)


class CanViewGolden(permissions.BasePermission):
    """Online matching reveals golden records: it needs the view permission on them."""

    def has_permission(self, request, view):
        model = view.entity.model
        return bool(
            request.user
            and request.user.is_authenticated
            and request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
        )


def _admitted(user, spec, match_online, record: dict, top_k: int) -> list[dict]:
    """The best ``top_k`` golden records among those the user may see (access limits): records outside the
    limits are left out, and the next best take their places (up to the longest list the API returns)."""
    if not access.is_limited(user, spec.entity_type):
        return match_online(spec.entity_type, record, top_k=top_k)
    results = match_online(spec.entity_type, record, top_k=MAX_TOP_K)
    ids = [result["golden_id"] for result in results]
    admitted = set(
        access.limit_queryset(user, spec.entity_type, spec.model.objects.filter(pk__in=ids)).values_list(
            "pk", flat=True
        )
    )
    return [result for result in results if result["golden_id"] in admitted][:top_k]


def online_match_viewset(spec) -> type[viewsets.ViewSet]:
    record_serializer = _record_serializer(spec)

    class OnlineMatchViewSet(viewsets.ViewSet):
        entity = spec
        permission_classes = [CanViewGolden]
        required_scope = "match"  # token scope for the POST look-up (mdm.api.permissions)

        @extend_schema(
            operation_id=f"match_{spec.api_path}",
            summary=f"Find golden {spec.api_path} like this record",
            description=(
                f"Scores one {spec.label.lower()} record against the golden records and returns the best "
                "`top_k` with their match probability, band (match / review / distinct) and an explanation: "
                "each field's contribution to the match weight; `prior_weight` plus the contributions equals "
                "`match_weight`. Nothing is written."
            ),
            request=record_serializer,
            parameters=[OpenApiParameter("top_k", int, description=f"How many results (1-{MAX_TOP_K}, default 10).")],
            responses={200: OnlineMatchResultSerializer(many=True)},
            tags=["matching"],
        )
        def create(self, request):
            try:
                top_k = int(request.query_params.get("top_k", 10))
            except ValueError:
                raise ValidationError({"top_k": ["A whole number between 1 and 50."]}) from None
            if not 1 <= top_k <= MAX_TOP_K:
                raise ValidationError({"top_k": [f"A whole number between 1 and {MAX_TOP_K}."]})
            if not isinstance(request.data, dict):
                raise ValidationError({"non_field_errors": ["The body must be a JSON object of the record's fields."]})
            serializer = record_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            record = {name: value for name, value in serializer.validated_data.items() if value is not None}
            results = _admitted(request.user, spec, matching.match_online, record, top_k)
            for result in results:
                result["url"] = request.build_absolute_uri(f"/api/v1/{spec.api_path}/{result['golden_id']}/")
            return Response(OnlineMatchResultSerializer(results, many=True).data)

    OnlineMatchViewSet.__name__ = f"{spec.label.replace(' ', '')}OnlineMatchViewSet"
    return OnlineMatchViewSet


# --- proposals, decisions, runs ----------------------------------------------------------------------------


class MatchCandidateSerializer(serializers.ModelSerializer):
    decided_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = MatchCandidate
        fields = [
            "id",
            "entity_type",
            "kind",
            "left_ref",
            "right_ref",
            "left_golden_id",
            "right_golden_id",
            "source_record",
            "probability",
            "match_weight",
            "band",
            "status",
            "priority",
            "explanation",
            "run",
            "created_at",
            "updated_at",
            "decided_at",
            "decided_by",
            "decision_reason",
        ]


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["match", "distinct", "defer"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class MatchCandidateFilterSet(filters.FilterSet):
    golden_id = filters.NumberFilter(method="filter_golden", label="Either side is this golden record")
    min_probability = filters.NumberFilter(field_name="probability", lookup_expr="gte")

    class Meta:
        model = MatchCandidate
        fields = ["entity_type", "kind", "band", "status", "run", "priority"]

    def filter_golden(self, queryset, name, value):
        return queryset.filter(left_golden_id=value) | queryset.filter(right_golden_id=value)


class MatchCandidateViewSet(viewsets.ReadOnlyModelViewSet):
    """Match proposals for stewards, most urgent first. ``decide`` records a steward's verdict."""

    queryset = MatchCandidate.objects.select_related("decided_by")
    required_scope = "match"  # token scope for decide (mdm.api.permissions)
    serializer_class = MatchCandidateSerializer
    filterset_class = MatchCandidateFilterSet
    ordering_fields = ["priority", "probability", "created_at"]
    search_fields = ["=left_ref", "=right_ref"]

    def get_queryset(self):
        # Proposals about golden records outside the user's access limits are not there for them.
        return access.limit_references(
            self.request.user, super().get_queryset(), id_fields=("left_golden_id", "right_golden_id")
        )

    @extend_schema(request=DecideSerializer, responses={200: MatchCandidateSerializer}, tags=["matching"])
    @action(detail=True, methods=["post"], permission_classes=[permissions.DjangoModelPermissions])
    def decide(self, request, pk=None):
        """``match`` links a source record (or confirms a duplicate pair for merging); ``distinct`` is remembered
        and never proposed again; ``defer`` keeps it for later."""
        candidate = self.get_object()
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            candidate = matching.match_candidate_decide(
                candidate,
                decision=serializer.validated_data["decision"],
                actor=request.user,
                reason=serializer.validated_data["reason"],
            )
        except matching.DecisionError as exc:
            raise ValidationError({"decision": [str(exc)]}) from None
        return Response(MatchCandidateSerializer(candidate).data)

    def get_permissions(self):
        if self.action == "decide":
            return [permissions.IsAuthenticated(), _ChangeCandidate()]
        return super().get_permissions()


class _ChangeCandidate(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.user.has_perm("mdm.change_matchcandidate")


class MatchDecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = MatchDecision
        fields = ["id", "entity_type", "left_ref", "right_ref", "is_match", "reason", "decided_by", "decided_at"]


class MatchDecisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Remembered steward decisions (the engine obeys them and never proposes the pair again)."""

    queryset = MatchDecision.objects.select_related("decided_by")
    serializer_class = MatchDecisionSerializer
    filterset_fields = ["entity_type", "is_match"]
    search_fields = ["=left_ref", "=right_ref"]


class MatchRunSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField(allow_null=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = MatchRun
        fields = [
            "id",
            "entity_type",
            "mode",
            "status",
            "parameters",
            "actor",
            "records",
            "candidate_pairs",
            "match_pairs",
            "review_pairs",
            "auto_linked",
            "created_golden",
            "clusters",
            "timings",
            "error",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields


class MatchRunRequestSerializer(serializers.Serializer):
    entity_type = serializers.CharField()
    mode = serializers.ChoiceField(choices=MatchRun.Mode.choices, default=MatchRun.Mode.BATCH)

    def validate_entity_type(self, value):
        if value not in matching.matching_entity_types():
            raise ValidationError(
                f"Not a matched entity type; expected one of: {', '.join(matching.matching_entity_types())}."
            )
        return value


class MatchRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Match runs: batch (the whole master) and incremental (new source records). ``POST`` starts one in a worker."""

    queryset = MatchRun.objects.select_related("actor")
    required_scope = "match"  # token scope for starting a run (mdm.api.permissions)
    serializer_class = MatchRunSerializer
    filterset_fields = ["entity_type", "mode", "status"]

    @extend_schema(
        request=MatchRunRequestSerializer,
        responses={202: inline_serializer("MatchRunQueued", {"task_id": serializers.CharField()})},
        tags=["matching"],
    )
    def create(self, request, *args, **kwargs):
        from mdm.tasks import match_run_task, match_source_records_task

        serializer = MatchRunRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entity_type = serializer.validated_data["entity_type"]
        if serializer.validated_data["mode"] == MatchRun.Mode.BATCH:
            task = match_run_task.delay(entity_type, request.user.pk)
        else:
            task = match_source_records_task.delay(entity_type, None, request.user.pk)
        return Response({"task_id": task.id}, status=status.HTTP_202_ACCEPTED)


def register_routes(router) -> None:
    router.register("match/candidates", MatchCandidateViewSet, basename="match-candidate")
    router.register("match/decisions", MatchDecisionViewSet, basename="match-decision")
    router.register("match/runs", MatchRunViewSet, basename="match-run")
    for spec in registry.all_specs():
        if spec.matching is not None and spec.api_path:
            router.register(f"match/{spec.api_path}", online_match_viewset(spec), basename=f"match-{spec.entity_type}")
