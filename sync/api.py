"""API v1 for syndication: targets with their figures, deliveries, outbox events and the key map (read-only), and
the operations verbs (replay, replay dead letters, replay since, check a connection) as actions.

Mounted under ``/api/v1/sync/`` through ``router`` (settings.MDM_API_ROUTERS). Reads need the model's view
permission (``sync.view_target``, ``sync.view_delivery``...); replaying needs ``sync.replay_delivery`` and a
connection check ``sync.change_target``. The same selectors feed the operations pages, so the figures and the
filters are the same. A target's secret is never serialized; payloads show bank numbers as their last four
digits; excerpts have the target's secret taken out.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from sync import selectors
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, Target
from sync.services import deliveries_replay, deliveries_replay_dead, deliveries_replay_since, target_check
from sync.trace_api import TraceViewSet

REPLAY_PERM = "sync.replay_delivery"
CHECK_PERM = "sync.change_target"


class HasPerm(permissions.BasePermission):
    """The caller holds one model permission (for the workflow verbs, which are not model writes)."""

    perm = ""
    message = ""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(self.perm))


class CanReplay(HasPerm):
    perm = REPLAY_PERM
    message = "Replaying deliveries needs sync.replay_delivery (the operations role)."


class CanCheck(HasPerm):
    perm = CHECK_PERM
    message = "Checking a target's connection needs sync.change_target (the operations role)."


# --- serializers ----------------------------------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subscription
        fields = ["entity_type", "filters", "enabled"]
        read_only_fields = fields


class TargetFiguresSerializer(serializers.Serializer):
    pending = serializers.IntegerField(help_text="Waiting to be sent: new deliveries and failed ones waiting to retry.")
    sending = serializers.IntegerField(help_text="Held by a worker right now.")
    failed = serializers.IntegerField(
        help_text="Failed with a transient error; retried with backoff (part of pending)."
    )
    dead = serializers.IntegerField(help_text="Dead letters: the target refused the data or retries ran out.")
    superseded = serializers.IntegerField(help_text="Not sent: a newer version of the record went instead.")
    delivered_last_hour = serializers.IntegerField()
    oldest_pending_at = serializers.DateTimeField(
        allow_null=True, help_text="When the longest-waiting pending delivery was queued (or last replayed)."
    )
    oldest_pending_age_seconds = serializers.IntegerField(allow_null=True)
    last_delivered_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField(help_text="The oldest pending delivery has waited more than 15 minutes.")
    alert = serializers.BooleanField(help_text="Needs attention: dead letters or a stale queue (see alerts).")
    alerts = serializers.ListField(child=serializers.CharField())


class TargetSerializer(serializers.ModelSerializer):
    """A target's settings (never its secret: ``has_secret`` says whether one is stored) and its figures."""

    has_secret = serializers.SerializerMethodField()
    subscriptions = SubscriptionSerializer(many=True, read_only=True)
    figures = serializers.SerializerMethodField()

    class Meta:
        model = Target
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "url",
            "database",
            "login",
            "has_secret",
            "protocol",
            "company_id",
            "directory",
            "file_format",
            "batch_size",
            "timeout_seconds",
            "max_attempts",
            "inbound",
            "detected_version",
            "version_checked_at",
            "subscriptions",
            "figures",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_secret(self, obj) -> bool:
        return bool(obj.secret)

    @extend_schema_field(TargetFiguresSerializer)
    def get_figures(self, obj) -> dict:
        row = self.context.get("figures", {}).get(obj.pk)
        if row is None:
            row = selectors.target_overview([obj])[0]
        return TargetFiguresSerializer(row).data


class DeliveryListSerializer(serializers.ModelSerializer):
    target_name = serializers.CharField(source="target.name", read_only=True)
    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    change_type = serializers.CharField(source="event.change_type", read_only=True)
    replayed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    last_error = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "target",
            "target_name",
            "event_id",
            "change_type",
            "entity_type",
            "object_id",
            "version",
            "status",
            "archive",
            "attempts",
            "next_attempt_at",
            "error_kind",
            "last_error",
            "target_ref",
            "correlation_id",
            "created_at",
            "sent_at",
            "delivered_at",
            "replayed_by",
            "replayed_at",
        ]
        read_only_fields = fields

    def get_last_error(self, obj) -> str:
        return selectors.redacted(obj.last_error, obj.target)


class KeyMapSerializer(serializers.ModelSerializer):
    """Which target record holds a golden record (``last_payload`` is left out: it is what the target was sent)."""

    class Meta:
        model = KeyMap
        fields = [
            "id",
            "target",
            "entity_type",
            "object_id",
            "target_model",
            "target_ref",
            "external_id",
            "last_version",
            "last_delivered_at",
            "archived",
            "checked_at",
        ]
        read_only_fields = fields


class DeliverySerializer(DeliveryListSerializer):
    """One delivery with what was sent and answered (excerpts), the payload and the record's key at the target."""

    request_excerpt = serializers.SerializerMethodField()
    response_excerpt = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField(help_text="The record at this version; bank numbers as last four.")
    key = serializers.SerializerMethodField(help_text="The record's key-map entry at the target (null: not held).")

    class Meta(DeliveryListSerializer.Meta):
        fields = [
            *DeliveryListSerializer.Meta.fields,
            "batch_id",
            "lease_until",
            "request_excerpt",
            "response_excerpt",
            "payload",
            "key",
        ]
        read_only_fields = fields

    def get_request_excerpt(self, obj) -> str:
        return selectors.redacted(obj.request_excerpt, obj.target)

    def get_response_excerpt(self, obj) -> str:
        return selectors.redacted(obj.response_excerpt, obj.target)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, obj) -> dict:
        return selectors.masked_payload(obj.event)

    @extend_schema_field(KeyMapSerializer(allow_null=True))
    def get_key(self, obj) -> dict | None:
        key = selectors.delivery_key(obj)
        return KeyMapSerializer(key).data if key is not None else None


class OutboxEventSerializer(serializers.ModelSerializer):
    payload = serializers.SerializerMethodField(help_text="The record at this version; bank numbers as last four.")

    class Meta:
        model = OutboxEvent
        fields = [
            "id",
            "event_id",
            "entity_type",
            "object_id",
            "version",
            "change_type",
            "correlation_id",
            "change_request_id",
            "created_at",
            "dispatched_at",
            "payload",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, obj) -> dict:
        return selectors.masked_payload(obj)


class ReplaySinceSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Deliveries queued at or after this time are sent again (ISO 8601).")


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="How many deliveries went back to the queue.")


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Whether the hub could connect and log in.")
    result = serializers.DictField(help_text="What the target reported (Odoo: its version).")
    error = serializers.CharField(help_text="Why the connection failed ('' when ok).")
    detected_version = serializers.CharField()


# --- filters --------------------------------------------------------------------------------------------------


class OutboxEventFilterSet(django_filters.FilterSet):
    dispatched = django_filters.BooleanFilter(
        field_name="dispatched_at", lookup_expr="isnull", exclude=True, help_text="false: the outbox backlog."
    )

    class Meta:
        model = OutboxEvent
        fields = ["entity_type", "object_id", "correlation_id", "change_type", "dispatched"]


class KeyMapFilterSet(django_filters.FilterSet):
    class Meta:
        model = KeyMap
        fields = ["target", "entity_type", "object_id", "target_model", "target_ref", "external_id"]


# --- views ----------------------------------------------------------------------------------------------------

ERRORS = {400: OpenApiResponse(description="Invalid input"), 403: None, 404: None}


class TargetViewSet(viewsets.ReadOnlyModelViewSet):
    """Targets (Odoo, signed webhook, file drop) with their subscriptions and figures. Configured in admin.

    ``figures``: ``pending`` (new + failed waiting to retry), ``sending``, ``failed`` (retrying), ``dead``
    (dead letters), ``superseded``, ``delivered_last_hour``, the oldest pending delivery and the last delivery;
    ``alert`` when there are dead letters or the oldest pending delivery has waited more than 15 minutes.
    """

    queryset = Target.objects.prefetch_related("subscriptions").order_by("name")
    required_scope = "syndication_admin"  # token scope for replay and check (mdm.api.permissions)
    serializer_class = TargetSerializer
    filterset_fields = ["kind", "enabled"]
    ordering_fields = ["name", "id"]

    def get_permissions(self):
        if self.action in ("replay_dead", "replay_since"):
            return [CanReplay()]
        if self.action == "check":
            return [CanCheck()]
        return super().get_permissions()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context.setdefault("figures", {})
        return context

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        context = {**self.get_serializer_context(), "figures": {r["id"]: r for r in selectors.target_overview(rows)}}
        data = TargetSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=None, responses={200: ReplayedSerializer, **ERRORS}, summary="Replay the dead letters")
    @action(detail=True, methods=["post"], url_path="replay-dead")
    def replay_dead(self, request, pk=None):
        """Every dead letter of this target back to the queue, attempts reset."""
        count = deliveries_replay_dead(self.get_object(), actor=request.user, request=request)
        return Response({"replayed": count})

    @extend_schema(
        request=ReplaySinceSerializer, responses={200: ReplayedSerializer, **ERRORS}, summary="Replay since a time"
    )
    @action(detail=True, methods=["post"], url_path="replay-since")
    def replay_since(self, request, pk=None):
        """Everything queued for this target since ``since`` sent again (after the target was restored from a
        backup). Versions older than what the target holds are skipped as superseded."""
        body = ReplaySinceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = deliveries_replay_since(
            self.get_object(), body.validated_data["since"], actor=request.user, request=request
        )
        return Response({"replayed": count})

    @extend_schema(request=None, responses={200: CheckSerializer, **ERRORS}, summary="Check the connection")
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        """Connect and log in; for Odoo the detected version is stored on the target. A failed connection is
        ``ok: false`` with the reason (the call itself succeeded)."""
        target = self.get_object()
        try:
            result, error = target_check(target) or {}, ""
        except Exception as exc:  # any failure is the answer the caller asked for
            result, error = {}, selectors.redacted(str(exc), target) or type(exc).__name__
        target.refresh_from_db(fields=["detected_version", "version_checked_at"])
        return Response(
            {"ok": not error, "result": result, "error": error, "detected_version": target.detected_version}
        )


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Deliveries: one per event and subscribed target, newest first; filters as on the operations page."""

    serializer_class = DeliverySerializer
    filterset_class = selectors.DeliveryFilterSet
    required_scope = "syndication_admin"  # token scope for replay (mdm.api.permissions)
    ordering_fields = ["id", "created_at", "delivered_at", "next_attempt_at", "version"]
    ordering = ["-id"]

    def get_queryset(self):
        if self.action == "list":
            return selectors.deliveries_list_queryset()
        return Delivery.objects.select_related("target", "event", "replayed_by")

    def get_serializer_class(self):
        return DeliveryListSerializer if self.action == "list" else DeliverySerializer

    def get_permissions(self):
        if self.action == "replay":
            return [CanReplay()]
        return super().get_permissions()

    @extend_schema(request=None, responses={200: DeliverySerializer, **ERRORS}, summary="Replay a delivery")
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send this delivery again now, attempts reset (dead, failed, delivered or superseded ones; a pending or
        sending one is left as it is). An older version than the target holds is skipped as superseded."""
        delivery = self.get_object()
        deliveries_replay([delivery.pk], actor=request.user, request=request)
        return Response(DeliverySerializer(self.get_queryset().get(pk=delivery.pk), context={"request": request}).data)


class OutboxEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The outbox: one event per committed change to a golden record (``dispatched=false``: not fanned out yet)."""

    queryset = OutboxEvent.objects.order_by("-id")
    serializer_class = OutboxEventSerializer
    filterset_class = OutboxEventFilterSet
    ordering_fields = ["id", "created_at"]


class KeyMapViewSet(viewsets.ReadOnlyModelViewSet):
    """Golden record <-> target record (Odoo id and external id), with the last version delivered."""

    queryset = KeyMap.objects.defer("last_payload").order_by("id")
    serializer_class = KeyMapSerializer
    filterset_class = KeyMapFilterSet
    ordering_fields = ["id", "last_delivered_at"]


router = DefaultRouter()
router.register("sync/targets", TargetViewSet, basename="sync-target")
router.register("sync/deliveries", DeliveryViewSet, basename="sync-delivery")
router.register("sync/events", OutboxEventViewSet, basename="sync-event")
router.register("sync/keymap", KeyMapViewSet, basename="sync-keymap")
router.register("trace", TraceViewSet, basename="trace")
