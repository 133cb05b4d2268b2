"""Survivorship: which source's value a golden record keeps, field by field, and where each value came from.

Each entity declares a rule per field (``StewardshipAdapter.survivorship``):

- ``trust``: the value of the most trusted source system (``SourceSystem.trust_rank``, 1 first); ties go
  to the most recently received record;
- ``recent``: the most recently received value;
- ``complete``: the longest (most complete) value; ties go to trust.

Empty values never win. A steward-pinned value (``PinnedValue``) beats every source. The outcome is
compared with the golden record: differences become a change request from the source (auto-approved when
the policy allows), and the lineage of each value is kept in ``GoldenLineage``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from mdm.choices import RecordStatus
from mdm.models import ChangeRequest, Crosswalk, GoldenLineage, PinnedValue, SourceRecord
from mdm.services.changes import ChangeError, change_request_create, change_request_withdraw, same_value, stewardship

log = logging.getLogger(__name__)

RULES = ("trust", "recent", "complete")


@dataclass
class Survived:
    values: dict = field(default_factory=dict)
    lineage: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    """field -> the SourceRecord that supplied the value."""


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _words(value) -> set[str]:
    return set(re.findall(r"[^\W_]+", str(value).casefold()))


def _pick(rule: str, candidates: list[tuple[object, SourceRecord]]):
    def trust_key(item):
        value, record = item
        return (record.system.trust_rank, -record.received_at.timestamp(), record.pk)

    if rule == "recent":
        return min(candidates, key=lambda item: (-item[1].received_at.timestamp(), item[1].system.trust_rank))
    if rule == "complete":
        # More distinct words is more complete ("Catheter IV 20 gauge" over "CATH IV 20G"); case, symbols and
        # spelling the same words differently are not. Ties go to trust.
        return min(candidates, key=lambda item: (-len(_words(item[0])), *trust_key(item)))
    return min(candidates, key=trust_key)


def survivorship_compute(entity_type: str, golden_id: int) -> Survived:
    """The values the golden record's linked source records give it, per the entity's rules and the pins."""
    _, adapter = stewardship(entity_type)
    records = list(
        SourceRecord.objects.filter(
            crosswalk__in=Crosswalk.objects.filter(entity_type=entity_type, golden_id=golden_id).values("pk"),
            is_current=True,
        ).select_related("system")
    )
    pins = {
        pin.field: pin
        for pin in PinnedValue.objects.filter(entity_type=entity_type, object_id=golden_id).select_related("pinned_by")
    }
    offered = [(adapter.source_values(record.standardized or {}), record) for record in records]
    result = Survived()
    for name, rule in adapter.survivorship.items():
        if name in pins:
            pin = pins[name]
            result.values[name] = pin.value
            result.lineage[name] = {
                "source": "steward",
                "rule": "pinned",
                "by": pin.pinned_by.get_username() if pin.pinned_by else "",
                "change_request": pin.change_request_id,
                "at": pin.created_at.isoformat(),
            }
            continue
        candidates = [
            (values[name], record) for values, record in offered if name in values and not _empty(values[name])
        ]
        if not candidates:
            continue
        value, record = _pick(rule if rule in RULES else "trust", candidates)
        result.values[name] = value
        result.records[name] = record
        result.lineage[name] = {
            "source": f"{record.system.name}:{record.external_id}",
            "system": record.system.name,
            "source_record": record.pk,
            "version": record.version,
            "rule": rule,
            "received_at": record.received_at.isoformat(),
        }
    return result


@transaction.atomic
def survivorship_refresh(entity_type: str, golden_id: int, *, actor=None) -> ChangeRequest | None:
    """Apply survivorship to one golden record.

    Values the record already holds get their lineage recorded. Differing values become one change request
    from the source that supplied most of them (an earlier open survivorship request for the record is
    withdrawn: the newer one replaces it). Auto-approved and applied when the policy allows.
    """
    spec, adapter = stewardship(entity_type)
    obj = spec.model._default_manager.filter(pk=golden_id).first()
    if obj is None or obj.status == RecordStatus.RETIRED:
        return None
    survived = survivorship_compute(entity_type, golden_id)
    current = adapter.snapshot(obj)
    changes = {
        name: value
        for name, value in survived.values.items()
        if not same_value(current.get(name), value) and survived.lineage[name].get("rule") != "pinned"
    }
    lineage, _ = GoldenLineage.objects.get_or_create(entity_type=entity_type, object_id=golden_id)
    agreed = {name: survived.lineage[name] for name in survived.values if name not in changes}
    if agreed:
        lineage.fields = {**lineage.fields, **agreed}
        lineage.save()

    open_requests = ChangeRequest.objects.filter(
        entity_type=entity_type,
        object_id=golden_id,
        origin=ChangeRequest.Origin.SURVIVORSHIP,
        status__in=[ChangeRequest.Status.DRAFT, ChangeRequest.Status.SUBMITTED],
    )
    if not changes:
        for cr in open_requests:
            change_request_withdraw(cr, actor=None, reason="the sources no longer disagree with the record")
        return None
    same = next((cr for cr in open_requests if cr.changes == changes), None)
    if same is not None:
        return same
    for cr in open_requests:
        change_request_withdraw(cr, actor=None, reason="replaced by a newer survivorship request")

    counts: dict[int, int] = {}
    for name in changes:
        record = survived.records[name]
        counts[record.pk] = counts.get(record.pk, 0) + 1
    source = max((survived.records[name] for name in changes), key=lambda record: counts[record.pk])
    try:
        with transaction.atomic():
            return change_request_create(
                entity_type=entity_type,
                kind=ChangeRequest.Kind.UPDATE,
                object_id=golden_id,
                changes=changes,
                actor=None,  # the source asks, not the person whose action triggered the refresh
                reason=f"Survivorship: {source.system.name} record {source.external_id} (version {source.version}) "
                f"gives newer or better values",
                origin=ChangeRequest.Origin.SURVIVORSHIP,
                source_record=source,
                evidence={"lineage": {name: survived.lineage[name] for name in changes}},
            )
    except (ValidationError, ChangeError) as exc:
        # A source value the record can't take (a GTIN another item holds...): a task for a steward.
        from mdm.services.tasks import task_open

        messages = exc.message_dict if isinstance(exc, ValidationError) and hasattr(exc, "error_dict") else str(exc)
        task_open(
            kind="survivorship_conflict",
            entity_type=entity_type,
            object_id=golden_id,
            title=f"Source values can't be applied to {spec.label.lower()} {golden_id}",
            dedupe_key=f"survivorship:{entity_type}:{golden_id}",
            details={"changes": {k: str(v) for k, v in changes.items()}, "errors": messages},
        )
        return None


def survivorship_refresh_many(entity_type: str, golden_ids, *, actor=None) -> dict:
    """Survivorship for several golden records; returns counts of requests made and applied."""
    counts = {"records": 0, "requests": 0, "applied": 0}
    for golden_id in sorted(set(golden_ids)):
        counts["records"] += 1
        cr = survivorship_refresh(entity_type, golden_id, actor=actor)
        if cr is not None:
            counts["requests"] += 1
            counts["applied"] += cr.status == ChangeRequest.Status.APPLIED
    return counts


def lineage_from_source(entity_type: str, golden_id: int, source_record: SourceRecord) -> None:
    """A golden record made from one source record: every survived field comes from it."""
    spec = stewardship(entity_type)[1]
    values = spec.source_values(source_record.standardized or {})
    fields = {
        name: {
            "source": f"{source_record.system.name}:{source_record.external_id}",
            "system": source_record.system.name,
            "source_record": source_record.pk,
            "version": source_record.version,
            "rule": "created from source",
            "received_at": source_record.received_at.isoformat(),
        }
        for name in spec.survivorship
        if not _empty(values.get(name))
    }
    GoldenLineage.objects.update_or_create(entity_type=entity_type, object_id=golden_id, defaults={"fields": fields})
