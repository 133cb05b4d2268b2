"""Celery tasks of the MDM core: thin wrappers that take ids and call a service."""

from pathlib import Path

from celery import shared_task
from django.contrib.auth import get_user_model

from mdm.models import SourceSystem
from mdm.services.file_import import source_records_import_file


@shared_task(name="mdm.source_records_import_file")
def source_records_import_file_task(path: str, system_id: int, entity_type: str, user_id: int | None = None) -> dict:
    """Import a CSV/XLSX file in the worker; returns the outcome counts (the batches are rows the UI shows)."""
    system = SourceSystem.objects.get(pk=system_id)
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    report = source_records_import_file(path=Path(path), system=system, entity_type=entity_type, actor=actor)
    return {outcome: report.count(outcome) for outcome in ("stored", "unchanged", "rejected")}
