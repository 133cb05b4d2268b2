"""The delivery engine: outbox events -> per-target deliveries -> batches sent by the target's adapter.

- ``dispatch()`` fans undispatched events out into one ``Delivery`` per subscribed target (filters on the
  payload; a record that leaves a filter after it was delivered is sent once more, as retired).
- ``deliver_target(target)`` holds the target's lease (one worker per target at a time: order per record
  is kept without row locks), claims due deliveries in batches, keeps only the newest version per record,
  skips versions older than what the target already has (the key map), makes sure the records a batch
  refers to are at the target first, and records each outcome: delivered, retried with exponential backoff
  and jitter (transient faults), or dead-lettered with the target's message (permanent faults).
- ``recover()`` returns work a killed worker held (expired leases) to the queue.

Correlation ids: each delivery keeps the id of the change it delivers. While a batch is sent, the id of its first
delivery is bound (``mdm.context``), so the adapter's calls carry it (Odoo: ``X-Request-ID``; webhooks send each
delivery's own id); each outcome is logged with the delivery's own id and the id the batch went out under.

Every adapter is idempotent (Odoo: external ids with ``load``), so re-sending after a lost response or a
killed worker never makes a second record.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from mdm.context import bound
from sync.adapters.base import DeliveryItem, KeyRef, Outcome, TransientError, adapter_for, excerpt
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, Target
from sync.outbox import publish_current

log = logging.getLogger(__name__)

DISPATCH_CHUNK = 1000
OPEN = (Delivery.Status.PENDING, Delivery.Status.FAILED)


# --- dispatch -------------------------------------------------------------------------------------------------


def matches(filters: dict, payload: dict) -> bool:
    """Whether a payload passes a subscription's filters (see ``Subscription``)."""
    for key, wanted in (filters or {}).items():
        if key.endswith("__startswith"):
            value = payload.get(key.removesuffix("__startswith"))
            prefixes = wanted if isinstance(wanted, list) else [wanted]
            if not any(str(value or "").startswith(str(prefix)) for prefix in prefixes):
                return False
            continue
        value = payload.get(key)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def dispatch(limit: int | None = None) -> int:
    """Turn undispatched outbox events into deliveries; returns the number of events handled."""
    handled = 0
    while limit is None or handled < limit:
        with transaction.atomic():
            events = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .order_by("id")[: DISPATCH_CHUNK if limit is None else min(DISPATCH_CHUNK, limit - handled)]
            )
            if not events:
                break
            _dispatch_events(events)
        handled += len(events)
    return handled


def _dispatch_events(events: list[OutboxEvent]) -> None:
    subscriptions = defaultdict(list)
    for sub in Subscription.objects.filter(enabled=True, target__enabled=True).select_related("target"):
        subscriptions[sub.entity_type].append(sub)
    # Records that left a filter are archived at targets that hold them.
    filtered_out = [(sub, event) for event in events for sub in subscriptions.get(event.entity_type, ())]
    held = set()
    if filtered_out:
        keys = KeyMap.objects.filter(
            target_id__in={sub.target_id for sub, _ in filtered_out},
            entity_type__in={event.entity_type for event in events},
            object_id__in={event.object_id for event in events},
            archived=False,
        ).values_list("target_id", "entity_type", "object_id")
        held = set(keys)
        # ... and those still on their way there (an archive must follow an earlier version not yet sent)
        held |= set(
            Delivery.objects.filter(
                target_id__in={sub.target_id for sub, _ in filtered_out},
                entity_type__in={event.entity_type for event in events},
                object_id__in={event.object_id for event in events},
                status__in=(*OPEN, Delivery.Status.SENDING),
            ).values_list("target_id", "entity_type", "object_id")
        )
    now = timezone.now()
    rows = []
    for sub, event in filtered_out:
        if matches(sub.filters, event.payload):
            archive = False
        elif (sub.target_id, event.entity_type, event.object_id) in held:
            archive = True
        else:
            continue
        held.add((sub.target_id, event.entity_type, event.object_id))
        rows.append(
            Delivery(
                target_id=sub.target_id,
                event=event,
                entity_type=event.entity_type,
                object_id=event.object_id,
                version=event.version,
                archive=archive,
                correlation_id=event.correlation_id,
                created_at=now,
                next_attempt_at=now,
            )
        )
    Delivery.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)


# --- leases ---------------------------------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.MDM_SYNC_LEASE_SECONDS)


def acquire(target: Target, owner: str) -> bool:
    now = timezone.now()
    taken = Target.objects.filter(
        Q(lock_until__isnull=True) | Q(lock_until__lt=now) | Q(lock_owner=owner), pk=target.pk
    )
    return bool(taken.update(lock_until=now + _lease(), lock_owner=owner))


def release(target: Target, owner: str) -> None:
    Target.objects.filter(pk=target.pk, lock_owner=owner).update(lock_until=None, lock_owner="")


def recover() -> int:
    """Deliveries a worker was sending when it died go back to the queue once their lease expires."""
    return Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=timezone.now()).update(
        status=Delivery.Status.PENDING, lease_until=None, next_attempt_at=timezone.now()
    )


# --- delivering -----------------------------------------------------------------------------------------------


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, scaled by a random factor in [0.5, 1]."""
    ceiling = min(settings.MDM_SYNC_BACKOFF_MAX_SECONDS, settings.MDM_SYNC_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


def due(target: Target):
    return Delivery.objects.filter(target=target, status__in=OPEN, next_attempt_at__lte=timezone.now())


def deliver_target(target: Target, *, budget_seconds: float | None = None, owner: str | None = None) -> dict:
    """Send what is due for ``target`` until nothing is due or the time budget is spent.

    Returns figures: batches, delivered, retried, dead, superseded, held, and ``more`` (work left).
    """
    owner = owner or uuid.uuid4().hex
    figures = defaultdict(int)
    if not acquire(target, owner):
        figures["busy"] = 1
        return dict(figures)
    budget = settings.MDM_SYNC_DELIVER_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    adapter = adapter_for(target)
    try:
        while True:
            dispatch()  # events committed meanwhile join this run (a nudge may have been skipped)
            claimed = _claim(target, figures)
            if claimed is None:
                break
            _send(target, adapter, claimed, figures)
            acquire(target, owner)  # extend the lease
            if time.monotonic() - started > budget:
                figures["more"] = int(due(target).exists())
                break
    finally:
        adapter.close()
        release(target, owner)
    return dict(figures)


def _claim(target: Target, figures) -> list[Delivery] | None:
    """The next batch: due deliveries, newest version per record, not older than the target holds."""
    size = max(1, target.batch_size)
    order = {entity: n for n, entity in enumerate(_entity_order(target))}
    with transaction.atomic():
        rank = Case(*[When(entity_type=name, then=Value(n)) for name, n in order.items()], default=Value(99))
        rows = list(due(target).select_related("event").annotate(rank=rank).order_by("rank", "id")[: size * 4])
        if not rows:
            return None
        # Later versions of these records beyond the window count too: only the newest of each goes out.
        records = _records_q({(row.entity_type, row.object_id) for row in rows})
        seen = {row.pk for row in rows}
        rows += [
            row for row in due(target).filter(records).select_related("event").order_by("id") if row.pk not in seen
        ]
        newest: dict[tuple, Delivery] = {}
        superseded = []
        for row in rows:
            key = (row.entity_type, row.object_id)
            current = newest.get(key)
            if current is None or (row.version, row.pk) > (current.version, current.pk):
                if current is not None:
                    superseded.append(current)
                newest[key] = row
            else:
                superseded.append(row)
        keys = _keys(target, newest.keys())
        batch = []
        for key, row in newest.items():
            held = keys.get(key)
            if held is not None and held.last_version > row.version:
                superseded.append(row)  # never an older version over a newer one
            else:
                batch.append(row)
        # One entity type per adapter call, dependencies first; at most a batch per entity type.
        batch.sort(key=lambda d: (order.get(d.entity_type, 99), d.pk))
        if batch:
            first = batch[0].entity_type
            batch = [d for d in batch if d.entity_type == first][:size]
        if superseded:
            Delivery.objects.filter(pk__in=[d.pk for d in superseded]).update(
                status=Delivery.Status.SUPERSEDED, lease_until=None
            )
            figures["superseded"] += len(superseded)
        if batch:
            Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(
                status=Delivery.Status.SENDING, lease_until=timezone.now() + _lease(), sent_at=timezone.now()
            )
        return batch


def _entity_order(target: Target) -> tuple[str, ...]:
    from sync.adapters.base import entity_types_for

    return entity_types_for(target.kind)


def _records_q(records) -> Q:
    """One condition per entity type: ``(entity_type, object_id)`` pairs as ``object_id IN (...)`` lists."""
    by_type = defaultdict(set)
    for entity_type, object_id in records:
        by_type[entity_type].add(object_id)
    query = Q()
    for entity_type, ids in by_type.items():
        query |= Q(entity_type=entity_type, object_id__in=ids)
    return query


def _keys(target: Target, records) -> dict[tuple, KeyMap]:
    records = list(records)
    if not records:
        return {}
    return {(k.entity_type, k.object_id): k for k in KeyMap.objects.filter(_records_q(records), target=target)}


def _send(target: Target, adapter, batch: list[Delivery], figures) -> None:
    if not batch:
        return
    # The records these refer to must be at the target first (an item's unit, a price's supplier and item).
    needs = {d.pk: adapter.dependencies(d.entity_type, d.event.payload) for d in batch}
    dep_keys = _keys(target, {dep for deps in needs.values() for dep in deps})
    ready, waiting, blocked = [], [], []
    for d in batch:
        missing = [dep for dep in needs[d.pk] if dep not in dep_keys]
        dead = [_dead_dependency(target, *dep) for dep in missing]
        dead = [reason for reason in dead if reason]
        if dead:
            blocked.append((d, dead))
        elif missing:
            waiting.append(d)
            for dep in missing:
                _request_dependency(target, *dep, correlation_id=d.correlation_id)
        else:
            ready.append(d)
    for d, reasons in blocked:
        d.status, d.error_kind, d.lease_until = Delivery.Status.DEAD, "permanent", None
        d.last_error = "Not sent: " + "; ".join(reasons) + " Replay this delivery once that one is delivered."
        d.save(update_fields=["status", "error_kind", "lease_until", "last_error"])
        figures["dead"] += 1
    if waiting:
        Delivery.objects.filter(pk__in=[d.pk for d in waiting]).update(
            status=Delivery.Status.PENDING, lease_until=None, next_attempt_at=timezone.now() + timedelta(seconds=1)
        )
        figures["held"] += len(waiting)
    if not ready:
        return
    own = _keys(target, {(d.entity_type, d.object_id) for d in ready})
    items = []
    for d in ready:
        held = own.get((d.entity_type, d.object_id))
        items.append(
            DeliveryItem(
                delivery_id=d.pk,
                event_id=str(d.event.event_id),
                entity_type=d.entity_type,
                object_id=d.object_id,
                version=d.version,
                change_type="retire" if d.archive else d.event.change_type,
                payload=d.event.payload,
                correlation_id=d.correlation_id,
                target_ref=held.target_ref if held else "",
                external_id=held.external_id if held else "",
                refs={
                    dep: KeyRef(dep_keys[dep].target_model, dep_keys[dep].target_ref, dep_keys[dep].external_id)
                    for dep in needs[d.pk]
                },
            )
        )
    batch_id = uuid.uuid4()
    figures["batches"] += 1
    request_id = batch_correlation_id(ready)
    try:
        with bound(correlation=request_id or None):
            outcomes = adapter.deliver(items)
        if len(outcomes) != len(items):  # pragma: no cover - an adapter bug
            raise RuntimeError(f"adapter returned {len(outcomes)} outcomes for {len(items)} items")
    except TransientError as exc:
        outcomes = [
            Outcome(
                ok=False,
                transient=True,
                error=str(exc),
                request_excerpt=exc.request_excerpt,
                response_excerpt=exc.response_excerpt,
            )
            for _ in items
        ]
    except Exception as exc:  # an unexpected failure: retried like a transient one, then dead-lettered
        log.exception("delivery batch to %s failed unexpectedly", target)
        outcomes = [Outcome(ok=False, transient=True, error=f"{type(exc).__name__}: {exc}") for _ in items]
    _record(target, ready, items, outcomes, batch_id, figures)
    _log_outcomes(target, ready, batch_id, request_id)


def batch_correlation_id(deliveries: list[Delivery]) -> str:
    """The correlation id a batch's calls carry: its first delivery's (one call carries one id; the log lines name
    every delivery's own)."""
    return next((d.correlation_id for d in deliveries if d.correlation_id), "")


def _log_outcomes(target: Target, deliveries: list[Delivery], batch_id, request_id: str) -> None:
    """One line per delivery, under the delivery's own correlation id."""
    for d in deliveries:
        fields = {
            "correlation_id": d.correlation_id,
            "request_id": request_id,
            "target": target.name,
            "delivery_id": d.pk,
            "entity_type": d.entity_type,
            "object_id": d.object_id,
            "version": d.version,
            "status": d.status,
            "attempts": d.attempts,
            "batch_id": str(batch_id),
        }
        if d.status == Delivery.Status.DELIVERED:
            fields["target_ref"] = d.target_ref
            log.info("delivery %s to %s: delivered", d.pk, target, extra=fields)
        else:
            log.warning("delivery %s to %s: %s", d.pk, target, d.status, extra={**fields, "error_kind": d.error_kind})


def _dead_dependency(target: Target, entity_type: str, object_id: int) -> str:
    """Why a record this one needs can't reach the target ('' when it may still get there)."""
    dead = (
        Delivery.objects.filter(target=target, entity_type=entity_type, object_id=object_id)
        .order_by("-version", "-id")
        .only("status", "last_error", "version")
        .first()
    )
    if dead is None or dead.status != Delivery.Status.DEAD:
        return ""
    return f"the {entity_type} {object_id} it refers to is a dead letter at {target} ({dead.last_error[:300]})."


def _request_dependency(target: Target, entity_type: str, object_id: int, *, correlation_id: str) -> None:
    """Queue the current version of a record the target lacks, unless it is already queued there."""
    if Delivery.objects.filter(
        target=target, entity_type=entity_type, object_id=object_id, status__in=(*OPEN, Delivery.Status.SENDING)
    ).exists():
        return
    event = publish_current(entity_type, object_id, correlation_id=correlation_id)
    event.dispatched_at = timezone.now()
    event.save(update_fields=["dispatched_at"])
    Delivery.objects.create(
        target=target,
        event=event,
        entity_type=entity_type,
        object_id=object_id,
        version=event.version,
        correlation_id=correlation_id,
    )


def _record(target, deliveries, items, outcomes, batch_id, figures) -> None:
    now = timezone.now()
    delivered = []
    with transaction.atomic():
        for delivery, item, outcome in zip(deliveries, items, outcomes, strict=True):
            delivery.batch_id = batch_id
            delivery.lease_until = None
            delivery.request_excerpt = excerpt(outcome.request_excerpt)
            delivery.response_excerpt = excerpt(outcome.response_excerpt)
            delivery.attempts += 1
            if outcome.ok:
                delivery.status = Delivery.Status.DELIVERED
                delivery.delivered_at = now
                delivery.target_ref = str(outcome.target_ref or "")
                delivery.error_kind = ""
                delivery.last_error = ""
                delivered.append((delivery, item, outcome))
                figures["delivered"] += 1
            elif outcome.transient and delivery.attempts < target.max_attempts:
                delivery.status = Delivery.Status.FAILED
                delivery.error_kind = "transient"
                delivery.last_error = excerpt(outcome.error, 2000)
                delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
                figures["retried"] += 1
            else:
                delivery.status = Delivery.Status.DEAD
                delivery.error_kind = "transient" if outcome.transient else "permanent"
                delivery.last_error = excerpt(outcome.error, 2000)
                figures["dead"] += 1
        Delivery.objects.bulk_update(
            deliveries,
            [
                "batch_id",
                "lease_until",
                "request_excerpt",
                "response_excerpt",
                "attempts",
                "status",
                "delivered_at",
                "target_ref",
                "error_kind",
                "last_error",
                "next_attempt_at",
            ],
        )
        if delivered:
            _remember(target, delivered, now)


def _remember(target, delivered, now) -> None:
    """Key map: target id and the newest version delivered; older open deliveries of those records are moot."""
    keys = _keys(target, {(item.entity_type, item.object_id) for _, item, _ in delivered})
    create, update = [], []
    for _delivery, item, outcome in delivered:
        key = keys.get((item.entity_type, item.object_id))
        if key is None:
            key = KeyMap(target=target, entity_type=item.entity_type, object_id=item.object_id)
            keys[(item.entity_type, item.object_id)] = key
            create.append(key)
        elif key.pk is not None and key not in update:
            update.append(key)
        if item.version < key.last_version:
            continue
        key.last_version = item.version
        key.target_ref = str(outcome.target_ref or key.target_ref)
        key.target_model = outcome.target_model or key.target_model
        key.external_id = outcome.external_id or key.external_id
        key.last_payload = outcome.sent_payload or {}
        key.last_delivered_at = now
        key.archived = item.archive
    KeyMap.objects.bulk_create(create, batch_size=500)
    KeyMap.objects.bulk_update(
        update,
        ["last_version", "target_ref", "target_model", "external_id", "last_payload", "last_delivered_at", "archived"],
        batch_size=500,
    )
    older = Q()
    for _, item, _ in delivered:
        older |= Q(entity_type=item.entity_type, object_id=item.object_id, version__lt=item.version)
    Delivery.objects.filter(older, target=target, status__in=OPEN).update(status=Delivery.Status.SUPERSEDED)
