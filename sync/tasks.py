"""Celery tasks of syndication. Schedules live in the database (django-celery-beat; see the 0002 migration)."""

import logging

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone

from sync import engine
from sync.models import Delivery, Target

log = logging.getLogger(__name__)


@shared_task(name="sync.pump", ignore_result=True)
def pump() -> dict:
    """Dispatch the outbox, recover expired leases, start a delivery task for every target with work due."""
    recovered = engine.recover()
    dispatched = engine.dispatch()
    now = timezone.now()
    due = Delivery.objects.filter(target=OuterRef("pk"), status__in=engine.OPEN, next_attempt_at__lte=now)
    started = []
    for target in Target.objects.filter(enabled=True).filter(Exists(due)):
        if target.lock_until is None or target.lock_until < now:
            deliver.apply_async(args=[target.pk], expires=120)
            started.append(target.pk)
    return {"recovered": recovered, "dispatched": dispatched, "targets": started}


@shared_task(name="sync.deliver", ignore_result=True)
def deliver(target_id: int) -> dict:
    target = Target.objects.filter(pk=target_id, enabled=True).first()
    if target is None:
        return {}
    engine.dispatch()  # events committed since the pump ran go out in this run too
    figures = engine.deliver_target(target)
    if figures.get("more") or (not figures.get("busy") and engine.due(target).exists()):
        deliver.apply_async(args=[target_id], expires=120)
    return figures


def _odoo_targets(target_id, **filters):
    targets = Target.objects.filter(kind=Target.Kind.ODOO, enabled=True, **filters)
    return targets.filter(pk=target_id) if target_id else targets


@shared_task(name="sync.pull", ignore_result=True)
def pull(target_id: int | None = None) -> list:
    from sync.inbound import pull_target

    runs = []
    for target in _odoo_targets(target_id, inbound=True):
        try:
            runs.append(pull_target(target).pk)
        except Exception:
            log.exception("inbound pull from %s failed", target)
    return runs


@shared_task(name="sync.reconcile", ignore_result=True)
def reconcile(target_id: int | None = None) -> list:
    from sync.reconcile import reconcile_target

    runs = []
    for target in _odoo_targets(target_id):
        try:
            runs.append(reconcile_target(target).pk)
        except Exception:
            log.exception("reconciliation of %s failed", target)
    return runs
