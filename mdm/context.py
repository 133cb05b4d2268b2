"""What the current request or job is doing, for records written on its behalf (outbox events, logs).

``correlation_id`` follows a request or job from the edge to the target systems; ``change`` names the change
request being applied (its number, kind and, for a merge, which record merges into which).
"""

import contextlib
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")


@dataclass(frozen=True)
class ChangeContext:
    change_request_id: int | None = None
    kind: str = ""
    entity_type: str = ""
    merged_id: int | None = None
    survivor_id: int | None = None


change: ContextVar[ChangeContext | None] = ContextVar("change", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    return correlation_id.get()


@contextlib.contextmanager
def bound(*, correlation: str | None = None, change_context: ChangeContext | None = None):
    """Set the correlation id and/or the change being applied for the block."""
    tokens = []
    if correlation is not None:
        tokens.append((correlation_id, correlation_id.set(correlation)))
    if change_context is not None:
        tokens.append((change, change.set(change_context)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
