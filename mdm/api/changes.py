"""Change-request API: propose, approve, reject and follow changes to golden records; the decision log; lineage.

Entry points only: every write is one call into ``mdm.services.changes`` (which checks four eyes, approval
scopes and stale bases) and every list starts from a permission-filtered selector in ``mdm.selectors``.
The services' errors map onto the house error shape: a Django ``ValidationError`` is a 400 with per-field
messages, ``ChangePermissionError`` a 403 with the service's sentence, ``StaleBaseError`` a 409 with code
``stale_base`` and a ``rebase`` URL, any other ``ChangeError`` a 409.
"""

import csv
import datetime as dt

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch
from django.urls import reverse as django_reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse

from mdm import access, registry
from mdm.api.exceptions import Conflict
from mdm.exports import Echo, decision_csv_rows
from mdm.filters import UTCIsoDateTimeFilter
from mdm.models import ChangeApproval, ChangeComment, ChangeRequest, DecisionLog, PinnedValue
from mdm.selectors import change_requests_awaiting, change_requests_for, golden_lineage
from mdm.services import changes as service
from mdm.services.changes import ChangeError, ChangePermissionError, StaleBaseError, public_value

Kind = ChangeRequest.Kind

# --- serializers ----------------------------------------------------------------------------------------------


class DiffRowSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    old = serializers.JSONField(allow_null=True, help_text="The value on the base version (secrets masked).")
    new = serializers.JSONField(allow_null=True, help_text="The proposed value (secrets masked).")
    sensitive = serializers.BooleanField(help_text="A sensitive field: the change needs two approvers.")


class ChangeApprovalSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = ChangeApproval
        fields = ["actor", "decision", "reason", "void", "base_version", "at"]


class ChangeCommentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = ChangeComment
        fields = ["id", "author", "text", "at"]


class CanApproveSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why not, when not allowed (the same sentence a refusal gives).")


class ChangeRequestLinksSerializer(serializers.Serializer):
    record = serializers.URLField(allow_null=True, help_text="The golden record in the API (the survivor of a merge).")
    record_ui = serializers.URLField(allow_null=True, help_text="The golden record in the steward UI.")
    lineage = serializers.URLField(allow_null=True, help_text="Where each of the record's values came from.")
    merged_record = serializers.URLField(allow_null=True, help_text="A merge's merged record.")
    rebase = serializers.URLField(help_text="POST here to rebase the request on the record's current version.")


def _record_links(request, entity_type: str, object_id) -> tuple[str | None, str | None]:
    try:
        spec = registry.get(entity_type)
    except KeyError:
        return None, None
    if object_id is None or not spec.api_path:
        return None, None
    return request.build_absolute_uri(f"/api/v1/{spec.api_path}/{object_id}/"), reverse(
        "lineage-detail", kwargs={"entity_type": entity_type, "object_id": object_id}, request=request
    )


class ChangeRequestListSerializer(serializers.ModelSerializer):
    """A change request as listed: what, who, where it stands (``retrieve`` adds the diff and the decisions)."""

    url = serializers.HyperlinkedIdentityField(view_name="change-request-detail")
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    approvals_given = serializers.IntegerField(read_only=True, help_text="Approvals that count (not void).")

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "url",
            "entity_type",
            "object_id",
            "kind",
            "status",
            "title",
            "reason",
            "requested_by",
            "origin",
            "risk",
            "required_approvals",
            "approvals_given",
            "auto_approved",
            "base_version",
            "applied_version",
            "scope_category",
            "scope_supplier_id",
            "created_at",
            "submitted_at",
            "decided_at",
            "applied_at",
        ]
        read_only_fields = fields


class ChangeRequestSerializer(ChangeRequestListSerializer):
    """One change request with its diff, proposed values (secrets left out), approvals, comments and what the
    caller may do with it."""

    diff = DiffRowSerializer(many=True, read_only=True)
    changes = serializers.SerializerMethodField(help_text="The proposed values by field; secrets are left out.")
    evidence = serializers.SerializerMethodField(help_text="What the requester saw (a match explanation).")
    approvals = ChangeApprovalSerializer(many=True, read_only=True)
    comments = ChangeCommentSerializer(many=True, read_only=True)
    can_approve = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta(ChangeRequestListSerializer.Meta):
        fields = [
            *ChangeRequestListSerializer.Meta.fields,
            "diff",
            "changes",
            "evidence",
            "source_record",
            "match_candidate",
            "correlation_id",
            "approvals",
            "comments",
            "can_approve",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, obj) -> dict:
        return public_value(obj.changes or {})

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_evidence(self, obj) -> dict:
        return public_value(obj.evidence or {})

    @extend_schema_field(CanApproveSerializer)
    def get_can_approve(self, obj) -> dict:
        allowed, why = service.can_approve(self.context["request"].user, obj)
        return {"allowed": allowed, "reason": why}

    @extend_schema_field(ChangeRequestLinksSerializer)
    def get_links(self, obj) -> dict:
        request = self.context["request"]
        record, lineage = _record_links(request, obj.entity_type, obj.object_id)
        merged = None
        if obj.kind == Kind.MERGE:
            merged, _ = _record_links(request, obj.entity_type, (obj.changes or {}).get("merged_id"))
        record_ui = None
        if obj.object_id is not None:
            try:
                record_ui = request.build_absolute_uri(
                    django_reverse("record-detail", args=[obj.entity_type, obj.object_id])
                )
            except NoReverseMatch:  # the steward UI is optional for API clients
                record_ui = None
        return {
            "record": record,
            "record_ui": record_ui,
            "lineage": lineage,
            "merged_record": merged,
            "rebase": reverse("change-request-rebase", kwargs={"pk": obj.pk}, request=request),
        }


class ChangeRequestCreateSerializer(serializers.Serializer):
    """A proposal. ``create`` and ``update`` take ``changes`` (field -> new value; for an update only the fields
    that change) and ``pins``; ``retire`` names the record; ``merge`` names ``survivor_id`` and ``merged_id`` and
    may take values over into the survivor in ``changes``; ``unmerge`` names the ``merged_id`` to bring back."""

    entity_type = serializers.CharField(max_length=32, help_text="supplier, item...")
    kind = serializers.ChoiceField(choices=Kind.choices)
    object_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="The record to update or retire."
    )
    changes = serializers.DictField(required=False, default=dict, help_text="Field -> proposed value.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4000, help_text="Why; it goes into the history."
    )
    pins = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        max_length=100,
        help_text="Fields whose new value survivorship must keep (create and update).",
    )
    submit = serializers.BooleanField(
        default=True, help_text="Send to the approvers now (create and update; the others are always submitted)."
    )
    survivor_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Merge: the survivor."
    )
    merged_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Merge: the record merged away; unmerge: it comes back."
    )

    def validate_entity_type(self, value):
        try:
            service.stewardship(value)
        except ChangeError as exc:
            raise ValidationError(str(exc)) from None
        return value

    def validate(self, data):
        kind, spec = data["kind"], registry.get(data["entity_type"])
        errors = {}
        ids = {
            Kind.CREATE: {},
            Kind.UPDATE: {"object_id": data.get("object_id")},
            Kind.RETIRE: {"object_id": data.get("object_id")},
            Kind.MERGE: {
                "survivor_id": data.get("survivor_id") or data.get("object_id"),
                "merged_id": data.get("merged_id"),
            },
            Kind.UNMERGE: {"merged_id": data.get("merged_id") or data.get("object_id")},
        }[kind]
        # A record outside the proposer's access limits does not exist for them (mdm.access).
        user = getattr(self.context.get("request"), "user", None)
        records = access.limit_queryset(user, spec.entity_type, spec.model._default_manager.all())
        for name, value in ids.items():
            if value is None:
                errors[name] = [f"Name the record: a {kind} needs {name}."]
            elif not records.filter(pk=value).exists():
                errors[name] = [f"{spec.label} {value} does not exist."]
        if kind == Kind.CREATE and data.get("object_id") is not None:
            errors["object_id"] = ["A new record has no id yet: leave object_id out."]
        if kind not in (Kind.CREATE, Kind.UPDATE):
            if data["pins"]:
                errors["pins"] = [f"Only create and update requests pin values, not a {kind}."]
            if not data["submit"]:
                errors["submit"] = [f"A {kind} request is submitted at once; there is no draft."]
        if kind in (Kind.RETIRE, Kind.UNMERGE) and data["changes"]:
            errors["changes"] = [f"A {kind} request takes no changes."]
        if errors:
            raise ValidationError(errors)
        return {**data, **ids}


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4000, help_text="Required: the requester reads it."
    )


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=10000)


# --- filters --------------------------------------------------------------------------------------------------


class ChangeRequestFilterSet(filters.FilterSet):
    requested_by = filters.CharFilter(field_name="requested_by__username", label="Requester (username)")
    awaiting = filters.ChoiceFilter(
        choices=[("me", "me")], method="filter_awaiting", label="me: submitted requests you may decide now"
    )
    mine = filters.BooleanFilter(method="filter_mine", label="Only the requests you made")
    submitted_after = UTCIsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UTCIsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")

    class Meta:
        model = ChangeRequest
        fields = ["status", "kind", "entity_type", "object_id", "origin", "requested_by", "risk"]

    def filter_awaiting(self, queryset, name, value):
        return queryset.filter(pk__in=change_requests_awaiting(self.request.user).values("pk"))

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        mine = {"requested_by": self.request.user.pk}
        return queryset.filter(**mine) if value else queryset.exclude(**mine)


class DecisionLogFilterSet(filters.FilterSet):
    actor = filters.CharFilter(field_name="actor__username", label="Who decided (username)")
    created_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = DecisionLog
        fields = ["action", "entity_type", "object_id", "kind", "actor", "change_request"]


# --- change requests ------------------------------------------------------------------------------------------


APPROVE_PERM = "mdm.approve_changerequest"


class CanDecideChangeRequests(permissions.BasePermission):
    """Approving and rejecting needs the approver role (the service then checks four eyes and scopes)."""

    message = "Approving and rejecting change requests needs the approver role (mdm.approve_changerequest)."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(APPROVE_PERM))


ERRORS = {400: OpenApiResponse(description="Invalid input"), 403: None, 404: None, 409: None}


class ChangeRequestViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Change requests to golden records: every edit, retirement, merge and unmerge, approved by someone else.

    Lists show what the caller may read; ``awaiting=me`` is the caller's approval queue (not their own, inside
    their approval scopes, not yet approved by them). Proposing needs ``mdm.add_changerequest``; approving and
    rejecting ``mdm.approve_changerequest``, and the request must be inside one of the approver's scopes.
    """

    queryset = ChangeRequest.objects.all()
    serializer_class = ChangeRequestSerializer
    required_scope = "changes"  # token scope for every write (mdm.api.permissions)
    filterset_class = ChangeRequestFilterSet
    ordering_fields = ["id", "created_at", "submitted_at", "decided_at", "applied_at", "status"]
    ordering = ["-created_at", "-id"]
    search_fields = ["title"]

    def get_queryset(self):
        qs = change_requests_for(self.request.user)
        if self.action == "list":
            return qs
        return qs.prefetch_related(
            Prefetch("approvals", queryset=ChangeApproval.objects.select_related("actor")),
            Prefetch("comments", queryset=ChangeComment.objects.select_related("author")),
        )

    def get_serializer_class(self):
        return ChangeRequestListSerializer if self.action == "list" else ChangeRequestSerializer

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [CanDecideChangeRequests()]
        return super().get_permissions()

    def handle_exception(self, exc):
        """The services' errors in the house error shape (see the module docstring)."""
        rebase = None
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                exc = ValidationError(
                    {
                        ("non_field_errors" if key == NON_FIELD_ERRORS else key): msgs
                        for key, msgs in exc.message_dict.items()
                    }
                )
            else:
                exc = ValidationError({"non_field_errors": exc.messages})
        elif isinstance(exc, ChangePermissionError):
            exc = PermissionDenied(str(exc))
        elif isinstance(exc, StaleBaseError):
            if self.kwargs.get("pk") is not None:
                rebase = reverse("change-request-rebase", kwargs={"pk": self.kwargs["pk"]}, request=self.request)
            exc = Conflict(str(exc), code=StaleBaseError.code)
        elif isinstance(exc, ChangeError):
            exc = Conflict(str(exc), code=exc.code)
        response = super().handle_exception(exc)
        if rebase is not None:
            response.data["rebase"] = rebase
        return response

    def _respond(self, cr, status_code=status.HTTP_200_OK):
        fresh = self.get_queryset().filter(pk=cr.pk).first()
        if fresh is None:  # proposed by someone who may propose but not read change requests: show what they sent
            fresh = cr
            fresh.approvals_given = cr.approvals.filter(decision=ChangeApproval.Decision.APPROVE, void=False).count()
        return Response(self.get_serializer(fresh).data, status=status_code)

    @extend_schema(
        request=ChangeRequestCreateSerializer,
        responses={201: ChangeRequestSerializer, **ERRORS},
        summary="Propose a change to a golden record",
        description=(
            "Creates a change request (origin `api`): `kind` create / update (with `changes`, optional `pins`), "
            "retire (`object_id`), merge (`survivor_id`, `merged_id`, optional `changes` taken over into the "
            "survivor) or unmerge (`merged_id`). The values are validated like the steward UI's form (400 with "
            "per-field messages). With `submit` (default) it goes to the approvers at once."
        ),
    )
    def create(self, request, *args, **kwargs):
        serializer = ChangeRequestCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        common = {"entity_type": data["entity_type"], "actor": request.user, "reason": data["reason"]}
        origin = ChangeRequest.Origin.API
        kind = data["kind"]
        if kind in (Kind.CREATE, Kind.UPDATE):
            cr = service.change_request_create(
                **common,
                kind=kind,
                object_id=data.get("object_id"),
                changes=data["changes"],
                pins=data["pins"],
                submit=data["submit"],
                origin=origin,
            )
        elif kind == Kind.RETIRE:
            cr = service.retire_propose(**common, object_id=data["object_id"], origin=origin)
        elif kind == Kind.MERGE:
            cr = service.merge_propose(
                **common,
                survivor_id=data["survivor_id"],
                merged_id=data["merged_id"],
                field_values=data["changes"] or None,
                origin=origin,
            )
        else:
            cr = service.unmerge_propose(**common, merged_id=data["merged_id"])
        return self._respond(cr, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ChangeRequestSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Send the requester's draft to the approvers."""
        return self._respond(service.change_request_submit(self.get_object(), actor=request.user))

    @extend_schema(request=ReasonSerializer, responses={200: ChangeRequestSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve; the last approval the policy needs (two for sensitive fields) applies the change at once.
        Refused (403) for the requester, outside the approver's scopes and when already approved by the caller;
        409 ``stale_base`` when the record changed since the request was made: rebase, then approve."""
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cr = service.change_request_approve(self.get_object(), actor=request.user, reason=body.validated_data["reason"])
        return self._respond(cr)

    @extend_schema(request=RejectSerializer, responses={200: ChangeRequestSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject, saying why (required)."""
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cr = service.change_request_reject(self.get_object(), actor=request.user, reason=body.validated_data["reason"])
        return self._respond(cr)

    @extend_schema(request=ReasonSerializer, responses={200: ChangeRequestSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester takes an open request back."""
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cr = service.change_request_withdraw(
            self.get_object(), actor=request.user, reason=body.validated_data["reason"]
        )
        return self._respond(cr)

    @extend_schema(request=None, responses={200: ChangeRequestSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def rebase(self, request, pk=None):
        """Recompute the diff on the record's current version; approvals given so far no longer count."""
        return self._respond(service.change_request_rebase(self.get_object(), actor=request.user))

    @extend_schema(request=CommentSerializer, responses={201: ChangeCommentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        """Add a comment to the request's discussion."""
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = service.change_request_comment(
            self.get_object(), actor=request.user, text=body.validated_data["text"]
        )
        return Response(ChangeCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


# --- decision log ---------------------------------------------------------------------------------------------


class DecisionLogSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = DecisionLog
        fields = [
            "id",
            "created_at",
            "action",
            "entity_type",
            "object_id",
            "kind",
            "summary",
            "reason",
            "requested_by",
            "approvers",
            "actor",
            "golden_version",
            "change_request",
            "match_candidate",
            "evidence",
            "correlation_id",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_evidence(self, obj) -> dict:
        return public_value(obj.evidence or {})


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``Accept: text/csv`` reach the export; errors come out as a one-row CSV of the detail."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        lines = [["detail", "code"], [(data or {}).get("detail", ""), (data or {}).get("code", "")]]
        out = []
        writer = csv.writer(Echo())
        for line in lines:
            out.append(writer.writerow(line))
        return "".join(out).encode()


def _day(request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    if day is None:
        raise ValidationError({name: [f"'{raw}' is not a date; use YYYY-MM-DD."]})
    return day


class DecisionLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The decision log an auditor reads: applied, rejected and withdrawn changes, match decisions; newest first."""

    queryset = DecisionLog.objects.select_related("actor")
    serializer_class = DecisionLogSerializer
    filterset_class = DecisionLogFilterSet
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        # Decisions about records outside the user's access limits are left out (mdm.access), the export too.
        return access.limit_references(self.request.user, super().get_queryset())

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day included (YYYY-MM-DD)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day included (YYYY-MM-DD)."),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per decision, oldest first."),
            400: OpenApiResponse(description="A bad date; the error names the parameter."),
        },
        summary="Export the decision log as CSV",
    )
    @action(detail=False, methods=["get"], renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def export(self, request):
        """CSV of the decisions between ``from`` and ``to`` (both days included, in the server's time zone; either
        may be left out); the list's filters apply too. Streamed, so a year of decisions does not sit in memory."""
        start, end = _day(request, "from"), _day(request, "to")
        if start and end and end < start:
            raise ValidationError({"to": [f"'to' ({end}) is before 'from' ({start})."]})
        qs = self.filter_queryset(self.get_queryset()).order_by("created_at", "id")
        zone = timezone.get_current_timezone()
        if start:
            qs = qs.filter(created_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=zone))
        if end:
            qs = qs.filter(created_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone))
        response = StreamingHttpResponse(decision_csv_rows(qs), content_type="text/csv; charset=utf-8")
        name = f"decisions-{start or 'start'}-to-{end or timezone.localdate()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- lineage --------------------------------------------------------------------------------------------------


class PinnedValueSerializer(serializers.ModelSerializer):
    pinned_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    value = serializers.SerializerMethodField()

    class Meta:
        model = PinnedValue
        fields = ["field", "value", "pinned_by", "change_request", "created_at"]

    @extend_schema_field(OpenApiTypes.ANY)
    def get_value(self, obj):
        return public_value(obj.value)


class GoldenLineageSerializer(serializers.Serializer):
    entity_type = serializers.CharField()
    object_id = serializers.IntegerField()
    label = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    record = serializers.URLField(allow_null=True)
    fields = serializers.DictField(
        child=serializers.DictField(),
        help_text="Field -> where its current value came from: {source, system, rule, by, at, change_request}.",
    )
    pins = PinnedValueSerializer(many=True, help_text="Values a steward pinned: survivorship keeps them.")


class GoldenLineageViewSet(viewsets.ViewSet):
    """``lineage/<entity_type>/<id>/``: where each value of a golden record came from, and its pinned values."""

    permission_classes = [permissions.IsAuthenticated]
    lookup_url_kwarg = "object_id"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "entity_type",
                str,
                OpenApiParameter.PATH,
                description="supplier, item, unit, contract, contract_price.",
                pattern="^[a-z_]+$",  # as the route: anything else is no URL of the API
            ),
            OpenApiParameter("object_id", int, OpenApiParameter.PATH, description="The golden record's id."),
        ],
        responses={200: GoldenLineageSerializer, 403: None, 404: None},
        summary="A golden record's lineage",
    )
    def retrieve(self, request, entity_type=None, object_id=None):
        try:
            spec = registry.get(entity_type)
        except KeyError as exc:
            raise NotFound(f"{exc.args[0][:1].upper()}{exc.args[0][1:]}.") from None
        model = spec.model
        if not request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
            raise PermissionDenied(f"Reading {spec.label.lower()} records needs their view permission.")
        records = access.limit_queryset(request.user, entity_type, model._default_manager.all())  # limits: as if absent
        obj = records.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if obj is None:
            raise NotFound(f"{spec.label} {object_id} does not exist.")
        label = spec.stewardship.label(obj) if spec.stewardship is not None else str(obj)
        pins = PinnedValue.objects.filter(entity_type=entity_type, object_id=obj.pk).select_related("pinned_by")
        record, _ = _record_links(request, entity_type, obj.pk)
        data = {
            "entity_type": entity_type,
            "object_id": obj.pk,
            "label": label,
            "status": obj.status,
            "version": obj.version,
            "record": record,
            "fields": public_value(golden_lineage(entity_type, obj.pk)),
            "pins": list(pins.order_by("field")),
        }
        return Response(GoldenLineageSerializer(data).data)


def register_routes(router) -> None:
    router.register("change-requests", ChangeRequestViewSet, basename="change-request")
    router.register("decisions", DecisionLogViewSet, basename="decision")
    router.register(r"lineage/(?P<entity_type>[a-z_]+)", GoldenLineageViewSet, basename="lineage")
