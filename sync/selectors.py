"""Reads for the operations view of syndication, shared by the UI (``sync.ui``), the API (``sync.api``) and admin.

The figures per target come from one aggregate over the deliveries (conditional counts grouped by target), so
the overview costs the same number of queries for 3 targets or 300. What shows a payload or an excerpt goes
through ``masked_payload`` / ``redacted``: bank numbers appear as their last four digits, sealed values are
never unsealed, and a target's own secret never reaches a page even if an adapter forgot to redact it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from mdm.filters import MAX_DB_INTEGER, UTCIsoDateTimeFilter
from mdm.payload_secrets import masked, secret_paths
from mdm.redaction import redact
from sync.models import Delivery, KeyMap, OutboxEvent, SyncRun, Target

Status = Delivery.Status

#: Waiting to be sent: new deliveries and failed ones waiting for their next attempt.
WAITING = (Status.PENDING, Status.FAILED)
#: A target is shown red when its oldest waiting delivery has waited longer than this (or it has dead letters).
STALE_AFTER = timedelta(minutes=settings.MDM_SYNC_DELIVERY_SLA_MINUTES)

FIGURES = ("pending", "sending", "failed", "dead", "superseded", "delivered_last_hour")


# --- the overview ---------------------------------------------------------------------------------------------


def _delivery_figures(target_ids: list[int] | None, now) -> dict[int, dict]:
    """Per target: counts by status, the oldest waiting delivery and the last delivery, in one query."""
    qs = Delivery.objects.all()
    if target_ids is not None:
        qs = qs.filter(target_id__in=target_ids)
    rows = (
        qs.order_by()
        .values("target_id")
        .annotate(
            pending=Count("pk", filter=Q(status__in=WAITING)),
            sending=Count("pk", filter=Q(status=Status.SENDING)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            dead=Count("pk", filter=Q(status=Status.DEAD)),
            superseded=Count("pk", filter=Q(status=Status.SUPERSEDED)),
            delivered_last_hour=Count(
                "pk", filter=Q(status=Status.DELIVERED, delivered_at__gte=now - timedelta(hours=1))
            ),
            # A replayed delivery has waited since its replay, not since it was first queued.
            oldest_waiting=Min(Coalesce("replayed_at", "created_at"), filter=Q(status__in=WAITING)),
            last_delivered_at=Max("delivered_at"),
        )
    )
    return {row.pop("target_id"): row for row in rows}


def overview_row(target: Target, figures: dict | None, now) -> dict:
    """One target's figures with the reasons it needs attention (``alerts``; empty when all is well)."""
    figures = figures or {}
    row = {
        "target": target,
        "id": target.pk,
        "name": target.name,
        "kind": target.kind,
        "enabled": target.enabled,
        "detected_version": target.detected_version,
        **{name: figures.get(name) or 0 for name in FIGURES},
        "oldest_pending_at": figures.get("oldest_waiting"),
        "oldest_pending_age_seconds": None,
        "last_delivered_at": figures.get("last_delivered_at"),
    }
    if row["oldest_pending_at"] is not None:
        row["oldest_pending_age_seconds"] = max(0, int((now - row["oldest_pending_at"]).total_seconds()))
    age = row["oldest_pending_age_seconds"]
    row["stale"] = age is not None and age > STALE_AFTER.total_seconds()
    alerts = []
    if row["dead"]:
        alerts.append(f"{row['dead']} dead letter{'s' if row['dead'] != 1 else ''}")
    if row["stale"]:
        alerts.append(f"oldest pending waiting {age // 60} min" + ("" if target.enabled else " (target disabled)"))
    row["alerts"] = alerts
    row["alert"] = bool(alerts)
    return row


def target_overview(targets=None) -> list[dict]:
    """Figures per target for the operations view, in the targets' order (all targets when ``targets`` is None).

    Each dict: ``target`` (the row), ``id``, ``name``, ``kind``, ``enabled``, ``detected_version``;
    ``pending`` (new + failed waiting to retry), ``sending`` (held by a worker now), ``failed`` (waiting to retry),
    ``dead`` (dead letters: given up, need a replay), ``superseded`` (a newer version went instead),
    ``delivered_last_hour``; ``oldest_pending_at`` / ``oldest_pending_age_seconds`` (the longest-waiting
    delivery: since it was queued or last replayed; None when nothing waits), ``last_delivered_at``;
    ``stale`` (the oldest pending has waited more than 15 minutes); ``alerts`` (why it needs attention: dead
    letters, a stale queue) and ``alert``.

    Two queries whatever the number of targets (one when ``targets`` is a list of Target rows).
    """
    now = timezone.now()
    if targets is None:
        targets = list(Target.objects.order_by("name"))
        figures = _delivery_figures(None, now)
    else:
        targets = list(targets)
        figures = _delivery_figures([t.pk for t in targets], now) if targets else {}
    return [overview_row(target, figures.get(target.pk), now) for target in targets]


def overview_totals(rows: list[dict]) -> dict:
    """The overview's figures summed over targets (the cards on top of the page)."""
    totals = {name: sum(row[name] for row in rows) for name in FIGURES}
    ages = [row["oldest_pending_age_seconds"] for row in rows if row["oldest_pending_age_seconds"] is not None]
    totals["oldest_pending_age_seconds"] = max(ages) if ages else None
    totals["stale"] = any(row["stale"] for row in rows)
    totals["alerts"] = sum(1 for row in rows if row["alert"])
    return totals


def outbox_backlog() -> dict:
    """Events not yet fanned out into deliveries: how many and since when (the pump drains them every few s)."""
    now = timezone.now()
    row = OutboxEvent.objects.filter(dispatched_at__isnull=True).aggregate(count=Count("pk"), oldest=Min("created_at"))
    age = int((now - row["oldest"]).total_seconds()) if row["oldest"] is not None else None
    return {
        "count": row["count"],
        "oldest_at": row["oldest"],
        "oldest_age_seconds": age,
        "alert": age is not None and age > STALE_AFTER.total_seconds(),
    }


def recent_runs(target: Target | None = None, limit: int = 10) -> list[SyncRun]:
    """The latest pull / reconciliation / backfill runs with their figures, newest first."""
    qs = SyncRun.objects.select_related("target").order_by("-started_at", "-id")
    if target is not None:
        qs = qs.filter(target=target)
    return list(qs[:limit])


def delivery_counts(target: Target) -> list[dict]:
    """Deliveries of one target by entity type and status: ``[{"entity_type", "<status>": n, ..., "total"}]``."""
    table: dict[str, dict] = {}
    rows = (
        Delivery.objects.filter(target=target)
        .order_by()
        .values("entity_type", "status")
        .annotate(n=Count("pk"))
        .order_by("entity_type", "status")
    )
    for row in rows:
        entry = table.setdefault(row["entity_type"], {"entity_type": row["entity_type"], "total": 0})
        entry[row["status"]] = row["n"]
        entry["total"] += row["n"]
    return list(table.values())


# --- deliveries -----------------------------------------------------------------------------------------------


class DeliveryFilterSet(django_filters.FilterSet):
    """The deliveries list's filters: the UI's form and the API's query parameters are this one FilterSet."""

    target = django_filters.NumberFilter(
        field_name="target_id", label="Target id", min_value=0, max_value=MAX_DB_INTEGER
    )
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, help_text="Repeat for several statuses.")
    entity_type = django_filters.CharFilter(help_text="supplier, item, unit, contract, contract_price.")
    object_id = django_filters.NumberFilter(help_text="The golden record's id.", min_value=0, max_value=MAX_DB_INTEGER)
    correlation_id = django_filters.CharFilter(help_text="All deliveries caused by one change (one request).")
    created_since = UTCIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Queued at or after (ISO 8601)."
    )
    created_until = UTCIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Queued before (ISO 8601)."
    )
    error = django_filters.CharFilter(
        field_name="last_error", lookup_expr="icontains", help_text="The last error contains this text."
    )

    class Meta:
        model = Delivery
        fields = [
            "target",
            "status",
            "entity_type",
            "object_id",
            "correlation_id",
            "created_since",
            "created_until",
            "error",
        ]


def deliveries_list_queryset():
    """Deliveries with what a list row shows (target, the event's change type), without the event's payload."""
    return Delivery.objects.select_related("target", "event").defer("event__payload").order_by("-id")


def deliveries_filtered(params, queryset=None):
    """Deliveries matching ``params`` (a QueryDict or dict; see ``DeliveryFilterSet``), newest first.

    Raises ``ValidationError`` (messages by parameter) when a filter value is invalid: a wrong filter must
    not silently show every delivery.
    """
    filterset = DeliveryFilterSet(params, queryset=deliveries_list_queryset() if queryset is None else queryset)
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    return filterset.qs


def delivery_timeline(entity_type: str, object_id: int, *, limit: int = 50) -> list[dict]:
    """One record's syndication history, newest first: each outbox event with its deliveries at every target.

    ``[{"event": OutboxEvent (payload deferred), "deliveries": [Delivery (target loaded), ...]}, ...]``;
    two queries.
    """
    events = list(
        OutboxEvent.objects.filter(entity_type=entity_type, object_id=object_id)
        .defer("payload")
        .order_by("-id")[:limit]
    )
    by_event: dict[int, list[Delivery]] = {event.pk: [] for event in events}
    if events:
        for delivery in (
            Delivery.objects.filter(event_id__in=list(by_event))
            .select_related("target")
            .defer("request_excerpt", "response_excerpt")
            .order_by("target__name", "id")
        ):
            by_event[delivery.event_id].append(delivery)
    return [{"event": event, "deliveries": by_event[event.pk]} for event in events]


def delivery_key(delivery: Delivery) -> KeyMap | None:
    """The key-map entry of the delivery's record at its target (target id, external id), if delivered once."""
    return (
        KeyMap.objects.filter(
            target_id=delivery.target_id, entity_type=delivery.entity_type, object_id=delivery.object_id
        )
        .defer("last_payload")
        .first()
    )


def delivery_versions(delivery: Delivery, *, limit: int = 20) -> list[Delivery]:
    """Other deliveries of the same record to the same target, newest version first."""
    return list(
        Delivery.objects.filter(
            target_id=delivery.target_id, entity_type=delivery.entity_type, object_id=delivery.object_id
        )
        .exclude(pk=delivery.pk)
        .select_related("event")
        .defer("event__payload", "request_excerpt", "response_excerpt")
        .order_by("-version", "-id")[:limit]
    )


# --- what may be shown ----------------------------------------------------------------------------------------

# A Fernet token (a sealed bank number) as it would appear in an excerpt: shown as [sealed].
_FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")
REDACTED = "[redacted]"


def masked_payload(event: OutboxEvent) -> dict:
    """The event's payload for display: sealed values as ``••••6789`` (their stored last four); never unsealed."""
    return masked(event.payload or {}, secret_paths(event.entity_type))


def redacted(text: str, target: Target | None = None) -> str:
    """An excerpt for display: the target's secret (API key, signing secret) and sealed tokens taken out.

    The adapters redact their excerpts; this is the second line, so a page can never show the secret.
    """
    if not text:
        return ""
    if target is not None:
        secret = target.secret or ""
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    # Then every other known secret and secret-looking value (tokens, Authorization headers, passwords, IBANs).
    return redact(_FERNET.sub("[sealed]", text))
