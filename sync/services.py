"""Operations on syndication: replay, connection checks, backfill. Used by the UI, the API and admin."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mdm import audit, registry
from mdm.choices import RecordStatus
from mdm.context import current_correlation_id, new_correlation_id
from mdm.models import AuditEvent
from sync.adapters.base import adapter_for, entity_types_for
from sync.engine import matches
from sync.models import Delivery, OutboxEvent, Target
from sync.outbox import kick_after_commit, snapshot

REPLAYABLE = (Delivery.Status.DEAD, Delivery.Status.FAILED, Delivery.Status.DELIVERED, Delivery.Status.SUPERSEDED)


MAX_AUDITED_IDS = 100
"""A replay's audit row lists the replayed delivery ids up to this many (the count is always exact)."""


@transaction.atomic
def deliveries_replay(
    deliveries, *, actor, request=None, target: Target | None = None, scope: dict | None = None
) -> int:
    """Send these deliveries again now (attempts reset). An older version than the target holds is skipped by the
    engine as superseded: replay never puts an old version over a newer one.

    A replay that queues anything writes a ``delivery.replay`` audit row (who, which target, how many, which
    deliveries, what was asked for in ``scope``) in the same transaction; ``request`` gives its address and
    correlation id.
    """
    ids = (
        list(deliveries.values_list("pk", flat=True))
        if hasattr(deliveries, "values_list")
        else [getattr(d, "pk", d) for d in deliveries]
    )
    replayable = Delivery.objects.filter(pk__in=ids, status__in=REPLAYABLE)
    # Locked (PostgreSQL) so the ids in the audit row are the ones this update sends again.
    chosen = list(replayable.select_for_update().order_by("pk").values_list("pk", "target_id"))
    count = Delivery.objects.filter(pk__in=[pk for pk, _ in chosen], status__in=REPLAYABLE).update(
        status=Delivery.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_until=None,
        error_kind="",
        replayed_by=actor,
        replayed_at=timezone.now(),
    )
    if count:
        _audit_replay(chosen, count, actor=actor, request=request, target=target, scope=scope or {"what": "selected"})
        kick_after_commit()
    return count


def _audit_replay(chosen, count: int, *, actor, request, target, scope) -> None:
    targets = sorted({target_id for _, target_id in chosen})
    if target is None and len(targets) == 1:
        target = Target.objects.filter(pk=targets[0]).first()
    detail = {
        **scope,
        "count": count,
        "deliveries": [pk for pk, _ in chosen[:MAX_AUDITED_IDS]],
        "targets": targets,
    }
    fields = (
        {"obj": target}
        if target is not None
        else {"object_type": "sync.delivery", "object_repr": f"{count} deliveries"}
    )
    audit.record(
        AuditEvent.Action.DELIVERY_REPLAY,
        request=request,
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        via=None if request is not None else "system",
        detail=detail,
        **fields,
    )


def deliveries_replay_dead(target: Target, *, actor, request=None) -> int:
    """Every dead letter of ``target``, again."""
    return deliveries_replay(
        Delivery.objects.filter(target=target, status=Delivery.Status.DEAD),
        actor=actor,
        request=request,
        target=target,
        scope={"what": "dead letters"},
    )


def deliveries_replay_since(target: Target, since, *, actor, request=None) -> int:
    """Everything sent (or meant to be sent) to ``target`` since ``since``, again: after a target restore."""
    return deliveries_replay(
        Delivery.objects.filter(target=target, created_at__gte=since).exclude(status=Delivery.Status.SENDING),
        actor=actor,
        request=request,
        target=target,
        scope={"what": "since", "since": since.isoformat()},
    )


def target_check(target: Target) -> dict:
    """Connect to the target and report what it is (Odoo: its version, stored on the target)."""
    adapter = adapter_for(target)
    try:
        return adapter.check()
    finally:
        adapter.close()


@transaction.atomic
def target_backfill(target: Target, entity_type: str | None = None, *, actor=None) -> int:
    """Queue the current version of every subscribed record for ``target`` (a new target's initial load).

    Retired records are left out unless the target already holds them; returns the number queued.
    """
    correlation = current_correlation_id() or new_correlation_id()
    now = timezone.now()
    subscriptions = target.subscriptions.filter(enabled=True)
    if entity_type:
        subscriptions = subscriptions.filter(entity_type=entity_type)
    order = {name: n for n, name in enumerate(entity_types_for(target.kind))}
    queued = 0
    for sub in sorted(subscriptions, key=lambda s: order.get(s.entity_type, 99)):
        spec = registry.get(sub.entity_type)
        held = set(target.keys.filter(entity_type=sub.entity_type).values_list("object_id", flat=True))
        for instance in spec.model._default_manager.order_by("pk").iterator(chunk_size=500):
            if instance.status == RecordStatus.RETIRED and instance.pk not in held:
                continue
            payload = snapshot(spec, instance)
            if not matches(sub.filters, payload) and instance.pk not in held:
                continue
            event = OutboxEvent.objects.create(
                entity_type=sub.entity_type,
                object_id=instance.pk,
                version=instance.version,
                change_type=OutboxEvent.ChangeType.RESYNC,
                payload=payload,
                correlation_id=correlation,
                dispatched_at=now,
            )
            Delivery.objects.create(
                target=target,
                event=event,
                entity_type=sub.entity_type,
                object_id=instance.pk,
                version=instance.version,
                archive=not matches(sub.filters, payload),
                correlation_id=correlation,
            )
            queued += 1
    if queued:
        kick_after_commit()
    return queued
