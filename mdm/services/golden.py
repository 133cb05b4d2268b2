"""Writes to golden records: audited (history user and reason), version-checked, never deleted."""

import logging

from django.db import transaction
from django.utils import timezone

from mdm import registry
from mdm.choices import LinkMethod, RecordStatus
from mdm.models import Crosswalk, SourceRecord

log = logging.getLogger(__name__)


def _stamp(instance, *, actor, reason: str) -> None:
    # simple-history has no request user outside a web request: set who and why explicitly.
    instance._history_user = actor
    instance._change_reason = reason


@transaction.atomic
def golden_save(instance, *, actor, reason: str, expected_version: int | None = None):
    """Create or update a golden record with its history user and change reason.

    With ``expected_version`` an update is refused (``StaleVersionError``) when someone else saved
    the record since that version was read: no lost update between two stewards.
    """
    if instance.pk is not None and not instance._state.adding:
        instance.lock_at_version(expected_version)
    _stamp(instance, actor=actor, reason=reason)
    instance.save()
    return instance


def golden_save_child(child, *, actor, reason: str):
    """Save a row owned by a golden record (alias, address, packaging level) with its audit stamp."""
    _stamp(child, actor=actor, reason=reason)
    child.save()
    return child


@transaction.atomic
def golden_set_status(instance, *, status: str, actor, reason: str, expected_version: int | None = None):
    """Move a golden record through its lifecycle (retire instead of delete)."""
    if status not in RecordStatus.values:
        raise ValueError(f"unknown status {status!r}; expected one of {RecordStatus.values}")
    instance.status = status
    return golden_save(instance, actor=actor, reason=reason, expected_version=expected_version)


@transaction.atomic
def crosswalk_link(crosswalk: Crosswalk, *, golden_id: int, method: str, actor, score: float | None = None):
    """Link a source identity to a golden record (the crosswalk: which, since when, by whom, how)."""
    crosswalk.golden_id = golden_id
    crosswalk.linked_at = timezone.now()
    crosswalk.linked_by = actor
    crosswalk.link_method = method
    crosswalk.match_score = score
    _stamp(crosswalk, actor=actor, reason=f"link ({method})")
    crosswalk.save()
    if method not in (LinkMethod.CREATED, LinkMethod.MERGE):
        survivorship_after_commit(crosswalk.entity_type, golden_id, actor=actor)
    return crosswalk


def survivorship_after_commit(entity_type: str, golden_id: int, *, actor=None) -> None:
    """Once the transaction commits, let the newly linked (or changed) source records survive into the record."""
    if registry.get(entity_type).stewardship is None:
        return
    transaction.on_commit(lambda: _survive(entity_type, golden_id, actor))


def _survive(entity_type: str, golden_id: int, actor) -> None:
    from mdm.services.survivorship import survivorship_refresh

    try:
        survivorship_refresh(entity_type, golden_id, actor=actor)
    except Exception:  # the link is committed; the next change to the record or a batch refresh tries again
        log.exception("survivorship after linking %s %s failed", entity_type, golden_id)


@transaction.atomic
def golden_create_from_source(source_record: SourceRecord, *, actor, reason: str = "created from source record"):
    """Create a golden record from a source record's standardized payload and link its crosswalk."""
    spec = registry.get(source_record.entity_type)
    if spec.create_golden is None:
        raise ValueError(f"entity type {source_record.entity_type!r} cannot create golden records from source")
    golden = spec.create_golden(source_record.standardized, system=source_record.system, actor=actor, reason=reason)
    crosswalk_link(source_record.crosswalk, golden_id=golden.pk, method=LinkMethod.CREATED, actor=actor)
    if spec.stewardship is not None:
        from mdm.services.survivorship import lineage_from_source

        lineage_from_source(source_record.entity_type, golden.pk, source_record)
    return golden
