"""The audit log of sensitive reads and writes: one call, ``record``, wherever such a thing happens.

A row says who (the user, and how they came in: a session, an API token, a command), when, what, on which
object, from which address and under which correlation id. Rows are append-only (``AuditEvent.save``
refuses updates). A row is written in the caller's transaction: a refused or rolled-back write leaves none,
a read (unmasked bank details) leaves one even though nothing else is written.
"""

from __future__ import annotations

from mdm.context import current_correlation_id
from mdm.models import AuditEvent

Action = AuditEvent.Action


def _via(request) -> str:
    if request is None:
        return ""
    auth = getattr(request, "auth", None)
    prefix = getattr(auth, "prefix", None)
    if prefix:
        return f"token:{prefix}"
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        return "session"
    return "anonymous"


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    request=None,
    actor=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    detail: dict | None = None,
    via: str | None = None,
) -> AuditEvent:
    """Write one audit row. ``actor`` defaults to the request's user; ``obj`` fills type, id and repr."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    if obj is not None:
        meta = obj._meta
        object_type = object_type or f"{meta.app_label}.{meta.model_name}"
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        via=via if via is not None else _via(request),
        object_type=object_type,
        object_id=str(object_id or ""),
        object_repr=str(object_repr)[:200],
        correlation_id=getattr(request, "correlation_id", "") or current_correlation_id(),
        ip=client_ip(request),
        detail=detail or {},
    )
