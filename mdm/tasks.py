"""Celery tasks of the MDM core: thin wrappers that take ids and call a service."""

from pathlib import Path

from celery import shared_task
from django.contrib.auth import get_user_model

from mdm.models import SourceSystem
from mdm.services import matching
from mdm.services.file_import import source_records_import_file


@shared_task(name="mdm.source_records_import_file")
def source_records_import_file_task(path: str, system_id: int, entity_type: str, user_id: int | None = None) -> dict:
    """Import a CSV/XLSX file in the worker; returns the outcome counts (the batches are rows the UI shows)."""
    system = SourceSystem.objects.get(pk=system_id)
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    report = source_records_import_file(path=Path(path), system=system, entity_type=entity_type, actor=actor)
    return {outcome: report.count(outcome) for outcome in ("stored", "unchanged", "rejected")}


def _user(user_id):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


@shared_task(name="mdm.match_run")
def match_run_task(entity_type: str, user_id: int | None = None, workers: int | None = None) -> int:
    """Batch-match the whole master of one entity type; returns the MatchRun id."""
    return matching.match_run(entity_type, actor=_user(user_id), workers=workers).pk


@shared_task(name="mdm.match_source_records")
def match_source_records_task(entity_type: str, source_record_ids: list[int] | None = None, user_id=None) -> int:
    """Incremental matching of new source records (after an ingest batch); returns the MatchRun id."""
    run = matching.match_source_records(entity_type, source_record_ids=source_record_ids, actor=_user(user_id))
    return run.pk


@shared_task(name="mdm.survivorship_refresh")
def survivorship_refresh_task(entity_type: str, golden_ids: list[int], user_id=None) -> dict:
    """Re-apply survivorship to golden records whose source records changed; returns counts."""
    from mdm.services.survivorship import survivorship_refresh_many

    return survivorship_refresh_many(entity_type, golden_ids, actor=_user(user_id))
