"""Ingest: store source records idempotently, validate them, quarantine what fails.

One call is one database transaction: a server error never leaves half a batch behind.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from mdm import registry
from mdm.choices import IngestOutcome
from mdm.models import Crosswalk, IngestBatch, QuarantinedRecord, SourceRecord, SourceSystem
from mdm.payload_secrets import seal


class IngestBatchError(Exception):
    """The batch as a whole is unacceptable; nothing was written. ``errors`` maps fields to messages."""

    status_code = 400

    def __init__(self, errors: dict[str, Any], status_code: int | None = None):
        self.errors = errors
        if status_code is not None:
            self.status_code = status_code
        super().__init__(json.dumps(errors, default=str))


@dataclass
class RecordResult:
    index: int
    external_id: str
    outcome: str
    source_record_id: int | None = None
    version: int | None = None
    errors: dict[str, Any] = field(default_factory=dict)


@dataclass
class IngestResult:
    batch: IngestBatch
    results: list[RecordResult]


def payload_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON form (sorted keys, no white space), so key order never matters."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_json(data: Any) -> Any:
    """Validated data (dates, decimals) as plain JSON values."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _flatten_errors(errors: Any) -> Any:
    """DRF ErrorDetail objects as plain strings, keeping the field structure."""
    return json.loads(json.dumps(errors, default=str))


def _check_batch_shape(entity_type: str, records: Any, max_batch: int) -> None:
    try:
        registry.get(entity_type)
    except KeyError as exc:
        raise IngestBatchError({"entity_type": [str(exc.args[0])]}) from None
    if not isinstance(records, list) or not records:
        raise IngestBatchError({"records": ["Give a non-empty list of records."]})
    if len(records) > max_batch:
        raise IngestBatchError(
            {"records": [f"A batch holds at most {max_batch} records; this one has {len(records)}. Split it."]},
            status_code=413,
        )
    problems: dict[str, Any] = {}
    first_seen: dict[str, int] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            problems[str(index)] = {"non_field_errors": ["Each record is an object with external_id and payload."]}
            continue
        ext = record.get("external_id")
        errs: dict[str, list[str]] = {}
        if not isinstance(ext, str | int) or isinstance(ext, bool) or str(ext).strip() == "":
            errs["external_id"] = ["This field is required: the record's id in the source system."]
        elif len(str(ext)) > 255:
            errs["external_id"] = ["At most 255 characters."]
        else:
            key = str(ext).strip()
            if key in first_seen:
                errs["external_id"] = [
                    f"External id '{key}' appears twice in this batch (records {first_seen[key]} and {index}); "
                    "send one payload per record."
                ]
            else:
                first_seen[key] = index
        if not isinstance(record.get("payload"), dict):
            errs["payload"] = ["This field is required and must be a JSON object."]
        if errs:
            problems[str(index)] = errs
    if problems:
        raise IngestBatchError({"records": problems})


@transaction.atomic
def source_records_ingest(
    *,
    system: SourceSystem,
    entity_type: str,
    records: list[dict[str, Any]],
    actor=None,
    channel: str = IngestBatch.Channel.API,
    filename: str = "",
    max_batch: int | None = None,
    match: bool | None = None,
) -> IngestResult:
    """Store a batch of source payloads for one system and entity type.

    For each record: the same (system, external id, payload hash) as the current version is
    ``unchanged``; a new or changed payload that validates becomes a new immutable version
    (``stored``, the previous version kept); one that fails validation is ``rejected`` and kept in
    quarantine with its field-level reasons. After commit, stored records of a matched entity type are
    matched in a worker (``match``; default: the MDM_MATCH_ON_INGEST setting). Batch-level problems (unknown entity type, duplicate
    external ids, too many records) raise :class:`IngestBatchError` and write nothing.
    """
    max_batch = max_batch or settings.INGEST_MAX_BATCH
    _check_batch_shape(entity_type, records, max_batch)
    spec = registry.get(entity_type)
    if not system.is_active:
        raise IngestBatchError({"system": [f"Source system '{system.name}' is inactive."]})

    batch = IngestBatch.objects.create(
        system=system, entity_type=entity_type, channel=channel, filename=filename, actor=actor, total=len(records)
    )
    ext_ids = [str(r["external_id"]).strip() for r in records]
    crosswalks = {
        cw.external_id: cw
        for cw in Crosswalk.objects.select_for_update().filter(
            system=system, entity_type=entity_type, external_id__in=ext_ids
        )
    }
    current = {
        rec.external_id: rec
        for rec in SourceRecord.objects.filter(
            system=system, entity_type=entity_type, external_id__in=ext_ids, is_current=True
        ).only("id", "external_id", "version", "payload_hash", "crosswalk_id")
    }
    open_quarantine = set(
        QuarantinedRecord.objects.filter(
            system=system, entity_type=entity_type, external_id__in=ext_ids, status=QuarantinedRecord.Status.OPEN
        ).values_list("external_id", "payload_hash")
    )

    context = {"system": system, "cache": {}}  # serializers memoize look-ups (units, aliases) per batch
    results: list[RecordResult] = []
    to_store: list[tuple[RecordResult, str, dict, str, dict]] = []
    to_quarantine: list[QuarantinedRecord] = []
    for index, (record, ext) in enumerate(zip(records, ext_ids, strict=True)):
        payload = record["payload"]
        digest = payload_hash(payload)
        existing = current.get(ext)
        if existing is not None and existing.payload_hash == digest:
            results.append(RecordResult(index, ext, IngestOutcome.UNCHANGED, existing.id, existing.version))
            continue
        serializer = spec.payload_serializer(data=payload, context=context)
        if not serializer.is_valid():
            errors = _flatten_errors(serializer.errors)
            results.append(RecordResult(index, ext, IngestOutcome.REJECTED, errors=errors))
            if (ext, digest) not in open_quarantine:
                open_quarantine.add((ext, digest))
                to_quarantine.append(
                    QuarantinedRecord(
                        system=system,
                        entity_type=entity_type,
                        external_id=ext,
                        payload=seal(payload, spec.secret_paths),
                        payload_hash=digest,
                        errors=errors,
                        batch=batch,
                    )
                )
            continue
        result = RecordResult(index, ext, IngestOutcome.STORED)
        results.append(result)
        to_store.append((result, ext, payload, digest, to_json(serializer.validated_data)))

    new_crosswalks = [
        Crosswalk(system=system, entity_type=entity_type, external_id=ext)
        for _, ext, *_ in to_store
        if ext not in crosswalks
    ]
    try:
        if new_crosswalks:
            bulk_create_with_history(new_crosswalks, Crosswalk, default_user=actor, default_change_reason="ingest")
            for cw in Crosswalk.objects.filter(
                system=system, entity_type=entity_type, external_id__in=[c.external_id for c in new_crosswalks]
            ):
                crosswalks[cw.external_id] = cw
        superseded = [current[ext].id for _, ext, *_ in to_store if ext in current]
        if superseded:
            SourceRecord.objects.filter(id__in=superseded).update(is_current=False)
        new_records = [
            SourceRecord(
                crosswalk=crosswalks[ext],
                system=system,
                entity_type=entity_type,
                external_id=ext,
                version=(current[ext].version + 1) if ext in current else 1,
                payload=seal(payload, spec.secret_paths),
                standardized=standardized,
                payload_hash=digest,
                batch=batch,
            )
            for _, ext, payload, digest, standardized in to_store
        ]
        SourceRecord.objects.bulk_create(new_records)
    except IntegrityError as exc:
        raise IngestBatchError(
            {"records": ["Another batch stored some of these records at the same time; send this batch again."]},
            status_code=409,
        ) from exc
    if new_records:
        stored_ids = dict(SourceRecord.objects.filter(batch=batch).values_list("external_id", "id"))
        for (result, ext, *_), rec in zip(to_store, new_records, strict=True):
            result.source_record_id = stored_ids[ext]
            result.version = rec.version
        QuarantinedRecord.objects.filter(
            system=system,
            entity_type=entity_type,
            status=QuarantinedRecord.Status.OPEN,
            external_id__in=[ext for _, ext, *_ in to_store],
        ).update(status=QuarantinedRecord.Status.SUPERSEDED, resolved_at=timezone.now())
    if to_quarantine:
        QuarantinedRecord.objects.bulk_create(to_quarantine)

    batch.stored = sum(r.outcome == IngestOutcome.STORED for r in results)
    batch.unchanged = sum(r.outcome == IngestOutcome.UNCHANGED for r in results)
    batch.rejected = sum(r.outcome == IngestOutcome.REJECTED for r in results)
    batch.status = IngestBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.save(update_fields=["stored", "unchanged", "rejected", "status", "finished_at"])
    stored_ids = [r.source_record_id for r in results if r.outcome == IngestOutcome.STORED]
    if match is None:
        match = settings.MDM_MATCH_ON_INGEST
    if stored_ids and spec.matching is not None and match:
        transaction.on_commit(lambda: _enqueue_matching(entity_type, stored_ids, actor))
    # New versions of records already linked to a golden record: survivorship decides what the record keeps.
    relinked = sorted({crosswalks[ext].golden_id for _, ext, *_ in to_store if crosswalks[ext].golden_id is not None})
    if relinked and spec.stewardship is not None and settings.MDM_SURVIVORSHIP_ON_INGEST:
        transaction.on_commit(lambda: _enqueue_survivorship(entity_type, relinked, actor))
    return IngestResult(batch=batch, results=results)


def _enqueue_survivorship(entity_type: str, golden_ids: list[int], actor) -> None:
    from mdm.tasks import survivorship_refresh_task

    survivorship_refresh_task.delay(entity_type, golden_ids, actor.pk if actor is not None else None)


def _enqueue_matching(entity_type: str, source_record_ids: list[int], actor) -> None:
    """After the batch commits: match its new records in a worker (incremental matching)."""
    from mdm.tasks import match_source_records_task

    match_source_records_task.delay(entity_type, source_record_ids, actor.pk if actor is not None else None)
