"""Open and close steward tasks. Checks call :func:`task_open`; it never opens a second task for one key."""

from django.db import transaction
from django.utils import timezone

from mdm.models import StewardTask


@transaction.atomic
def task_open(
    *,
    kind: str,
    entity_type: str,
    object_id: int,
    title: str,
    dedupe_key: str,
    details: dict | None = None,
    priority: int = StewardTask.Priority.NORMAL,
    due_date=None,
) -> tuple[StewardTask, bool]:
    """Open a task, or refresh the open one with the same ``dedupe_key``. Returns ``(task, created)``."""
    task = StewardTask.objects.select_for_update().filter(dedupe_key=dedupe_key, status=StewardTask.Status.OPEN).first()
    if task is None:
        task = StewardTask.objects.create(
            kind=kind,
            entity_type=entity_type,
            object_id=object_id,
            title=title,
            dedupe_key=dedupe_key,
            details=details or {},
            priority=priority,
            due_date=due_date,
        )
        return task, True
    changed = task.title != title or task.details != (details or {}) or task.priority != priority
    if changed or task.due_date != due_date:
        task.title, task.details, task.priority, task.due_date = title, details or {}, priority, due_date
        task.save()
    return task, False


@transaction.atomic
def task_close(task: StewardTask, *, actor=None, status=StewardTask.Status.RESOLVED, note: str = "") -> StewardTask:
    """Resolve or dismiss an open task, recording who and why."""
    if task.status != StewardTask.Status.OPEN:
        return task
    task.status = status
    task.resolved_at = timezone.now()
    task.resolved_by = actor
    task.resolution_note = note
    task.save()
    return task


def tasks_close_stale(*, kind: str, keep_keys: set[str], actor=None, note: str = "") -> int:
    """Resolve open tasks of ``kind`` whose condition no longer holds (their key is not in ``keep_keys``)."""
    closed = 0
    for task in StewardTask.objects.filter(kind=kind, status=StewardTask.Status.OPEN).exclude(dedupe_key__in=keep_keys):
        task_close(task, actor=actor, note=note or "The check no longer finds this.")
        closed += 1
    return closed
