"""The contract between the delivery engine and a target adapter.

The engine hands an adapter one batch of ``DeliveryItem`` of a single entity type, newest version per
record only, dependencies already delivered (``refs``). The adapter returns one ``Outcome`` per item, in
the same order. It raises ``TransientError`` when the whole batch failed for a reason worth retrying
(connection refused, timeout, HTTP 5xx, a serialization failure) and it cannot tell what was written:
the engine retries the batch later, so every adapter must be idempotent (Odoo: external ids with
``load``; webhooks: the idempotency key; file drops: one file per batch id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import import_string


class TransientError(Exception):
    """The batch failed in a way worth retrying; ``excerpt`` is what the target answered (redacted)."""

    def __init__(self, message: str, *, request_excerpt: str = "", response_excerpt: str = ""):
        super().__init__(message)
        self.request_excerpt = request_excerpt
        self.response_excerpt = response_excerpt


@dataclass
class DeliveryItem:
    delivery_id: int
    event_id: str
    entity_type: str
    object_id: int
    version: int
    change_type: str
    """create / update / retire / merge / resync. ``retire`` and ``merge`` mean: archive at the target."""
    payload: dict
    """The event's payload snapshot (see sync.outbox); secret values sealed: use ``mdm.payload_secrets.unseal``."""
    correlation_id: str = ""
    target_ref: str = ""
    """The record's id at the target from the key map ('' when never delivered)."""
    external_id: str = ""
    """Odoo: the record's external id from the key map ('' when never delivered)."""
    refs: dict = field(default_factory=dict)
    """Key-map entries of the records this one refers to: ``{("unit", 5): KeyRef, ...}``."""

    @property
    def archive(self) -> bool:
        return self.change_type in ("retire", "merge") or self.payload.get("status") == "retired"


@dataclass
class KeyRef:
    target_model: str
    target_ref: str
    external_id: str = ""


@dataclass
class Outcome:
    ok: bool
    target_ref: str = ""
    target_model: str = ""
    external_id: str = ""
    transient: bool = False
    """When not ok: True = retry with backoff, False = dead letter (the target refused the data)."""
    error: str = ""
    request_excerpt: str = ""
    response_excerpt: str = ""
    sent_payload: dict = field(default_factory=dict)
    """What was sent, as the target sees it (mapped values): kept in the key map for reconciliation."""


class TargetAdapter:
    """Base class; one instance per target per engine run (``close()`` is called at the end)."""

    #: entity types this kind of target can receive, in dependency order (units before items...)
    entity_types: tuple[str, ...] = ()

    def __init__(self, target):
        self.target = target

    def dependencies(self, entity_type: str, payload: dict) -> list[tuple[str, int]]:
        """Records that must be at the target before this one (Odoo: an item's base unit)."""
        return []

    def deliver(self, items: list[DeliveryItem]) -> list[Outcome]:  # pragma: no cover - interface
        raise NotImplementedError

    def check(self) -> dict:
        """Connect and report what the target is (Odoo: version); raise on failure."""
        return {}

    def close(self) -> None:
        pass


ADAPTERS = {
    "odoo": "sync.odoo.adapter.OdooAdapter",
    "webhook": "sync.webhook.WebhookAdapter",
    "file_drop": "sync.filedrop.FileDropAdapter",
}


def adapter_for(target) -> TargetAdapter:
    return import_string(ADAPTERS[target.kind])(target)


def entity_types_for(kind: str) -> tuple[str, ...]:
    return import_string(ADAPTERS[kind]).entity_types


def excerpt(text: Any, limit: int = 4000) -> str:
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"
