"""Keep prices per base unit in step with item packaging, without the items app knowing about contracts.

When an item, or one of its packaging levels, is saved or deleted, the item's price lines are recomputed
(:func:`contracts.services.contract_prices_recompute`) once the transaction commits, once per item
however many levels the transaction touched. Wired in ``ContractsConfig.ready()``.
"""

import logging

from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)


def _recompute(item_id: int) -> None:
    from contracts.services import contract_prices_recompute

    changed = contract_prices_recompute(item_id, reason="item packaging changed: price per base unit recomputed")
    if changed:
        logger.info("recomputed %s price(s) per base unit of item %s", changed, item_id)


class RecomputeOnCommit:
    """An on-commit callback for one item; remembers that it ran."""

    def __init__(self, item_id: int):
        self.item_id, self.done = item_id, False

    def __call__(self):
        self.done = True
        _recompute(self.item_id)


def recompute_on_commit(item_id: int | None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Recompute item ``item_id``'s prices per base unit after the current transaction commits (once)."""
    if item_id is None:
        return
    connection = connections[using]
    # One callback per item and transaction: the pending callbacks are the connection's on-commit list
    # (callbacks of a rolled-back savepoint are dropped from it, so this never skips a needed run).
    for _, pending, _ in getattr(connection, "run_on_commit", []):
        if isinstance(pending, RecomputeOnCommit) and pending.item_id == item_id and not pending.done:
            return
    transaction.on_commit(RecomputeOnCommit(item_id), using=using, robust=True)


def item_saved(sender, instance, created, raw=False, using=DEFAULT_DB_ALIAS, **kwargs):
    if not raw and not created:  # a new item has no prices yet
        recompute_on_commit(instance.pk, using)


def packaging_level_changed(sender, instance, raw=False, using=DEFAULT_DB_ALIAS, **kwargs):
    if not raw:
        recompute_on_commit(instance.item_id, using)
