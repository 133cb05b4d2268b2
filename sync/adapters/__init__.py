"""Target adapters: how a batch of deliveries reaches one kind of target (Odoo, webhook, file drop)."""

from sync.adapters.base import DeliveryItem, Outcome, TargetAdapter, TransientError, adapter_for

__all__ = ["DeliveryItem", "Outcome", "TargetAdapter", "TransientError", "adapter_for"]
