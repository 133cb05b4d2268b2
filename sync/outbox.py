"""The transactional outbox: every committed change to a golden record has its event, and no event exists
without its committed change.

``GoldenRecord.save`` sends ``mdm.signals.golden_saved`` inside the transaction that writes the row; the
receiver here writes an ``OutboxEvent`` with the record's published payload (secret values sealed) in that same
transaction. Rows owned by a golden record (aliases, bank accounts, packaging levels) are saved after their
parent, so their saves refresh the payload of the parent's event for the current version (or, when the parent
was not saved with them, write a new event for it). After the transaction commits, the delivery engine is
nudged (``sync.pump``); the scheduled pump picks up anything a nudge missed.
"""

import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from mdm import registry
from mdm.choices import RecordStatus
from mdm.context import change as change_context
from mdm.context import current_correlation_id
from mdm.models.golden import GoldenChild, GoldenRecord
from mdm.payload_secrets import seal
from mdm.signals import golden_saved
from sync.models import OutboxEvent

log = logging.getLogger(__name__)


def snapshot(spec, instance, *, merged_into=None) -> dict:
    """The record as downstream systems receive it, secrets sealed."""
    payload = spec.publish(instance)
    payload["merged_into"] = merged_into
    return seal(payload, spec.secret_paths) if spec.secret_paths else payload


def _change_type(spec, instance, created: bool) -> tuple[str, int | None]:
    context = change_context.get()
    if (
        context is not None
        and context.kind == "merge"
        and context.entity_type == spec.entity_type
        and context.merged_id == instance.pk
        and instance.status == RecordStatus.RETIRED
    ):
        return OutboxEvent.ChangeType.MERGE, context.survivor_id
    if created:
        return OutboxEvent.ChangeType.CREATE, None
    if instance.status == RecordStatus.RETIRED:
        return OutboxEvent.ChangeType.RETIRE, None
    return OutboxEvent.ChangeType.UPDATE, None


def _context_fields() -> dict:
    context = change_context.get()
    return {
        "correlation_id": current_correlation_id(),
        "change_request_id": context.change_request_id if context is not None else None,
    }


def on_golden_saved(sender, instance, created, **kwargs) -> None:
    spec = registry.for_model(sender)
    if spec is None or spec.publish is None:
        return
    change_type, merged_into = _change_type(spec, instance, created)
    OutboxEvent.objects.create(
        entity_type=spec.entity_type,
        object_id=instance.pk,
        version=instance.version,
        change_type=change_type,
        payload=snapshot(spec, instance, merged_into=merged_into),
        **_context_fields(),
    )
    kick_after_commit()


def _parent_link(child_model):
    """(spec, attname) of the golden record a child row belongs to, or None."""
    for field in child_model._meta.concrete_fields:
        related = getattr(field, "related_model", None)
        if field.many_to_one and related is not None and issubclass(related, GoldenRecord):
            spec = registry.for_model(related)
            if spec is not None and spec.publish is not None:
                return spec, field.attname
    return None


def on_child_changed(sender, instance, **kwargs) -> None:
    link = _parent_link(sender)
    if link is None:
        return
    spec, attname = link
    parent = spec.model._default_manager.filter(pk=getattr(instance, attname)).first()
    if parent is None:  # pragma: no cover - golden records are never deleted
        return
    event = (
        OutboxEvent.objects.filter(
            entity_type=spec.entity_type, object_id=parent.pk, version=parent.version, dispatched_at__isnull=True
        )
        .order_by("-id")
        .first()
    )
    if event is not None:
        event.payload = snapshot(spec, parent, merged_into=event.payload.get("merged_into"))
        event.save(update_fields=["payload"])
        return
    # The parent was not saved in this change: the record still changed for downstream systems.
    OutboxEvent.objects.create(
        entity_type=spec.entity_type,
        object_id=parent.pk,
        version=parent.version,
        change_type=OutboxEvent.ChangeType.UPDATE,
        payload=snapshot(spec, parent),
        **_context_fields(),
    )
    kick_after_commit()


def publish_current(entity_type: str, object_id: int, *, correlation_id: str = "", change_type=None) -> OutboxEvent:
    """An event carrying the record's current version (backfill, re-push, a dependency a target lacks)."""
    spec = registry.get(entity_type)
    instance = spec.model._default_manager.get(pk=object_id)
    return OutboxEvent.objects.create(
        entity_type=entity_type,
        object_id=instance.pk,
        version=instance.version,
        change_type=change_type or OutboxEvent.ChangeType.RESYNC,
        payload=snapshot(spec, instance),
        correlation_id=correlation_id or current_correlation_id(),
    )


_last_kick = 0.0
KICK_INTERVAL = 0.25  # seconds: a burst of small transactions nudges the engine a few times a second, not per commit


def _kick() -> None:
    global _last_kick
    if not settings.MDM_SYNC_KICK:
        return
    now = time.monotonic()
    if now < _last_kick:
        return  # a nudge is already scheduled after this commit: it dispatches this event too
    countdown = max(0.0, _last_kick + KICK_INTERVAL - now)  # trailing nudge within a burst
    _last_kick = now + countdown
    try:
        from sync.tasks import pump

        pump.apply_async(countdown=countdown or None, expires=60)
    except Exception:  # the broker is down: the scheduled pump delivers anyway
        log.warning("could not nudge the delivery engine; the scheduled pump will pick the events up", exc_info=True)


def kick_after_commit() -> None:
    """Nudge the engine once per transaction, after it commits."""
    if not settings.MDM_SYNC_KICK:
        return
    if connection.in_atomic_block and any(func is _kick for _sids, func, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_kick)


def connect() -> None:
    golden_saved.connect(on_golden_saved, dispatch_uid="sync-outbox-golden")
    for model in _child_models():
        post_save.connect(on_child_changed, sender=model, dispatch_uid=f"sync-outbox-{model.__name__}-save")
        post_delete.connect(on_child_changed, sender=model, dispatch_uid=f"sync-outbox-{model.__name__}-delete")


def _child_models():
    from django.apps import apps

    for model in apps.get_models():
        if issubclass(model, GoldenChild) and _parent_link(model) is not None:
            yield model
