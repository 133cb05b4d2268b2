"""Celery tasks of the contracts app: thin wrappers that call a service.

``contracts.prices_check`` runs nightly from the django-celery-beat schedule that migration
``0004_prices_check_schedule`` creates (02:30; change it in the admin under Periodic tasks).
"""

import datetime as dt

from celery import shared_task

from contracts.checks import prices_check
from contracts.services import contract_prices_recompute


@shared_task(name="contracts.prices_check")
def prices_check_task(on_date: str | None = None) -> dict:
    """Run every price check; returns the counts per check kind (found, opened, closed)."""
    report = prices_check(on_date=dt.date.fromisoformat(on_date) if on_date else None)
    return {
        "on_date": report.on_date.isoformat(),
        "found": report.found,
        "opened": report.opened,
        "closed": report.closed,
    }


@shared_task(name="contracts.contract_prices_recompute")
def contract_prices_recompute_task(item_id: int) -> int:
    """Recompute an item's prices per base unit after its packaging changed; returns the lines changed."""
    return contract_prices_recompute(item_id)
