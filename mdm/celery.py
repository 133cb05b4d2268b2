"""Celery application: configured from Django settings (``CELERY_*``), tasks discovered per app.

Correlation ids cross the broker: publishing a task puts the current correlation id into the message headers
(``mdm_correlation_id``); the worker binds it (``mdm.context``) while the task runs, so what the task writes (outbox
events, deliveries) and logs carries it, and so do the tasks it publishes in turn. A task published without one
(a scheduled run from beat) gets a fresh id, one per run. Workers log through ``settings.LOGGING`` (structured
lines, ``mdm.logging``) instead of Celery's own root-logger set-up, with the task's name and id on every line.
"""

import os
from contextvars import Token

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")

app = Celery("mdm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Not "correlation_id": Celery's own task context has that name for the message's AMQP correlation id (the task id).
HEADER = "mdm_correlation_id"

# Context tokens of the tasks running in this process, by task id (a prefork child or a solo worker runs one at a
# time; threads and eager calls may nest, hence the mapping).
_bound: dict[str, tuple[Token, object]] = {}


@signals.setup_logging.connect
def setup_logging(**kwargs):
    """Apply ``settings.LOGGING`` in the worker; connected, this also stops Celery from taking the root logger."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def put_correlation_id(headers=None, **kwargs):
    """The publisher's correlation id travels in the message headers (none outside a request or job)."""
    from mdm.context import current_correlation_id

    if headers is None or headers.get(HEADER):
        return
    correlation = current_correlation_id()
    if correlation:
        headers[HEADER] = correlation


def task_correlation_id(task) -> str:
    """The correlation id a task was published with ('' when none)."""
    request = task.request
    value = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    return str(value or "")


@signals.task_prerun.connect
def bind_correlation_id(task_id=None, task=None, **kwargs):
    """Bind the message's correlation id (or the caller's, for an eager call; else a fresh one) for the task."""
    import structlog

    from mdm.context import correlation_id, current_correlation_id, new_correlation_id

    correlation = task_correlation_id(task) or current_correlation_id() or new_correlation_id()
    token = correlation_id.set(correlation)
    bound = structlog.contextvars.bind_contextvars(task=task.name, task_id=task_id)
    _bound[task_id] = (token, bound)


@signals.task_postrun.connect
def unbind_correlation_id(task_id=None, **kwargs):
    import structlog

    from mdm.context import correlation_id

    entry = _bound.pop(task_id, None)
    if entry is None:
        return
    token, bound = entry
    try:
        structlog.contextvars.reset_contextvars(**bound)
        correlation_id.reset(token)
    except ValueError:  # bound in another context (a pool that switches contexts): clear instead
        structlog.contextvars.unbind_contextvars("task", "task_id")
        correlation_id.set("")
