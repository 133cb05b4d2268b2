"""A golden record's page: fields with the source of each value, linked source records, merges, open change
requests, the history of the record and its own rows, and the record "as of" a past moment."""

from __future__ import annotations

import functools
import json

from django.contrib import messages
from django.db.models import Prefetch, Q
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from rest_framework.exceptions import ValidationError as DRFValidationError

from mdm.api.as_of import parse_as_of
from mdm.choices import RecordStatus
from mdm.models import ChangeRequest, Crosswalk, DecisionLog, GoldenChild, MergeRecord, SourceRecord
from mdm.payload_secrets import masked
from mdm.selectors import change_requests_for, golden_lineage
from mdm.services import changes as svc
from mdm.ui.records.access import (
    can_change,
    change_url,
    get_record,
    page_view,
    readable_spec,
    record_url,
    scalar_fields,
    shown,
)

HISTORY_LIMIT = 50
"""Versions of the record itself shown on its page (older ones: the admin's history)."""
CHILD_HISTORY_LIMIT = 100
HIDDEN_HISTORY_FIELDS = {"version", "updated_at", "created_at"}


def _lineage_text(entry) -> str:
    """Where a field's value came from: a source system, a steward (by whom), the survivorship rule."""
    if not isinstance(entry, dict):
        return ""
    source = entry.get("system") or entry.get("source") or ""
    if source == "steward" and entry.get("by"):
        source = f"steward {entry['by']}"
    rule = entry.get("rule") or ""
    return " · ".join(part for part in (str(source), str(rule)) if part)


def _as_of(request):
    """``(moment, raw)`` from ``?as_of=``; an unreadable value is reported and ignored."""
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return None, ""
    try:
        return parse_as_of(raw), raw
    except DRFValidationError:
        messages.error(request, f"'{raw}' is not a date (2026-11-01) or date and time (2026-11-01T14:30); showing now.")
        return None, ""


def _fields_table(spec, snapshot: dict, lineage: dict) -> list[dict]:
    adapter = spec.stewardship
    choices = {name: dict(field.flatchoices) for name, field in scalar_fields(spec) if field.choices}
    rows = []
    for name in adapter.fields:
        value = snapshot.get(name)
        if name in choices and value in choices[name]:
            value = str(choices[name][value])
        rows.append(
            {
                "field": name,
                "label": svc.field_label(spec.entity_type, name),
                "value": shown(value),
                "is_list": isinstance(value, list),
                "items": [shown(item) for item in value] if isinstance(value, list) else [],
                "lineage": _lineage_text(lineage.get(name)),
                "sensitive": name in adapter.sensitive,
            }
        )
    return rows


def _source_links(spec, pk) -> list[dict]:
    current = Prefetch("versions", queryset=SourceRecord.objects.filter(is_current=True), to_attr="current")
    links = (
        Crosswalk.objects.filter(entity_type=spec.entity_type, golden_id=pk)
        .select_related("system", "linked_by")
        .prefetch_related(current)
        .order_by("system__trust_rank", "system__name", "external_id")
    )
    rows = []
    for link in links:
        record = link.current[0] if link.current else None
        payload = masked(record.payload, spec.secret_paths) if record is not None else None
        rows.append(
            {
                "link": link,
                "record": record,
                "payload": json.dumps(payload, indent=2, sort_keys=True, default=str) if payload is not None else "",
            }
        )
    return rows


def _merges(spec, pk) -> list[dict]:
    rows = []
    records = MergeRecord.objects.filter(Q(survivor_id=pk) | Q(merged_id=pk), entity_type=spec.entity_type)
    for record in records.order_by("-created_at", "-id"):
        if record.merged_id == pk:
            other, text = record.survivor_id, "Merged into"
        else:
            other, text = record.merged_id, "Absorbed"
        rows.append(
            {
                "text": text,
                "other": other,
                "other_url": record_url(spec.entity_type, other),
                "record": record,
                "change_url": change_url(record.change_request_id),
                "unmerge_url": change_url(record.unmerge_request_id) if record.unmerge_request_id else "",
            }
        )
    return rows


def _open_requests(user, spec, pk):
    mine = Q(object_id=pk) | Q(kind=ChangeRequest.Kind.MERGE, changes__merged_id=pk)
    return (
        change_requests_for(user)
        .filter(mine, entity_type=spec.entity_type, status__in=ChangeRequest.OPEN_STATUSES)
        .order_by("-created_at")
    )


def _text(value, field, related: dict) -> str:
    if value is None or value == "":
        return ""
    if field is not None and field.is_relation:
        obj = related.get((field.related_model, value))
        return str(obj) if obj is not None else f"#{value}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _history_rows(spec, pk, as_of=None) -> list[dict]:
    """Versions of the record and of its own rows (aliases, packaging...), newest first, each with what changed."""
    model = spec.model
    entries = []  # (when, history row, label, kind, [(field, old, new)])
    golden = model.history.filter(id=pk).select_related("history_user").order_by("-history_date", "-history_id")
    if as_of is not None:
        golden = golden.filter(history_date__lte=as_of)
    versions = list(golden[: HISTORY_LIMIT + 1])  # one more than shown: the oldest shown one needs its predecessor
    for index, newer in enumerate(versions[:HISTORY_LIMIT]):
        older = versions[index + 1] if index + 1 < len(versions) else None
        changes = []
        if older is not None and newer.history_type == "~":
            delta = newer.diff_against(older, excluded_fields=HIDDEN_HISTORY_FIELDS)
            changes = [(change.field, change.old, change.new) for change in delta.changes]
        entries.append((newer, model, f"{spec.label} #{pk}", changes))
    for rel in model._meta.related_objects:
        child = rel.related_model
        if not (rel.one_to_many and issubclass(child, GoldenChild) and hasattr(child, "history")):
            continue
        rows = child.history.filter(**{f"{rel.field.attname}": pk}).select_related("history_user")
        if as_of is not None:
            rows = rows.filter(history_date__lte=as_of)
        rows = list(rows.order_by("-history_date", "-history_id")[:CHILD_HISTORY_LIMIT])
        previous = {}
        for row in sorted(rows, key=lambda r: (r.history_date, r.history_id)):
            changes = []
            before = previous.get(row.id)
            if before is not None and row.history_type == "~":
                delta = row.diff_against(before, excluded_fields=HIDDEN_HISTORY_FIELDS)
                changes = [(change.field, change.old, change.new) for change in delta.changes]
            previous[row.id] = row
            entries.append((row, child, f"{child._meta.verbose_name} {row.instance}", changes))
    entries.sort(key=lambda entry: (entry[0].history_date, entry[0].history_id), reverse=True)

    # Foreign keys in the changes (units) are shown by their code: one query per related model.
    wanted: dict = {}
    for _, owner, _, changes in entries:
        for name, old, new in changes:
            field = owner._meta.get_field(name)
            if field.is_relation:
                wanted.setdefault(field.related_model, set()).update(v for v in (old, new) if v not in (None, ""))
    related = {
        (rel_model, key): obj
        for rel_model, keys in wanted.items()
        for key, obj in rel_model._default_manager.in_bulk(list(keys)).items()
    }
    verbs = {"+": "created", "~": "changed", "-": "deleted"}
    out = _link_events(spec, pk, as_of)
    for row, owner, label, changes in entries:
        shown = []
        for name, old, new in changes:
            field = owner._meta.get_field(name)
            label_text = (
                svc.field_label(spec.entity_type, name)
                if owner is model and name in spec.stewardship.fields
                else str(field.verbose_name).capitalize()
            )
            shown.append({"label": label_text, "old": _text(old, field, related), "new": _text(new, field, related)})
        out.append(
            {
                "when": row.history_date,
                "who": row.history_user.get_username() if row.history_user else "",
                "reason": row.history_change_reason or "",
                "what": label,
                "verb": verbs.get(row.history_type, row.history_type),
                "is_child": owner is not model,
                "version": getattr(row, "version", None) if owner is model else None,
                "changes": shown,
            }
        )
    out.sort(key=lambda entry: entry["when"], reverse=True)
    return out


def _link_events(spec, pk, as_of=None) -> list[dict]:
    """Merges and unmerges that moved links to or from this record: they change what it is made of even when
    none of its own fields changed, so they belong on its timeline (from the decision log)."""
    merged_into_me = Q(kind=ChangeRequest.Kind.MERGE, object_id=pk)
    mine_merged = Q(kind__in=[ChangeRequest.Kind.MERGE], change_request__changes__merged_id=pk)
    unmerges = Q(kind=ChangeRequest.Kind.UNMERGE) & (Q(object_id=pk) | Q(change_request__changes__survivor_id=pk))
    logs = DecisionLog.objects.filter(
        entity_type=spec.entity_type,
        action__in=[DecisionLog.Action.APPLIED, DecisionLog.Action.AUTO_APPLIED],
    ).filter(merged_into_me | mine_merged | unmerges)
    if as_of is not None:
        logs = logs.filter(created_at__lte=as_of)
    return [
        {
            "when": log.created_at,
            "who": log.requested_by,
            "reason": f"{log.reason} [change request #{log.change_request_id}, approved by {', '.join(log.approvers)}]",
            "what": log.summary,
            "verb": "",
            "is_child": False,
            "version": log.golden_version if log.object_id == pk else None,
            "changes": [],
        }
        for log in logs.order_by("-created_at")[:HISTORY_LIMIT]
    ]


def _active_merge(spec, obj):
    if obj.status != RecordStatus.RETIRED:
        return None
    return (
        MergeRecord.objects.filter(entity_type=spec.entity_type, merged_id=obj.pk, unmerged_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


@functools.cache
def _record_panel(app_label: str) -> str:
    """A domain app's own panel on its records' pages (``templates/<app_label>/record_panel.html``), if it has one.

    How a domain app adds an action (suppliers: "Show account numbers") without ``mdm`` naming it.
    """
    name = f"{app_label}/record_panel.html"
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return ""
    return name


@page_view
def record_detail(request, entity_type: str, pk: int):
    spec = readable_spec(request, entity_type)
    adapter = spec.stewardship
    live = get_record(spec, pk, request.user)
    as_of, as_of_raw = _as_of(request)
    obj = live
    if as_of is not None:
        obj = spec.model.history.as_of(as_of).filter(**{spec.model._meta.pk.attname: pk}).first()
        if obj is None:
            context = {"spec": spec, "live": live, "as_of": as_of, "as_of_raw": as_of_raw, "missing": True}
            return render(request, "mdm/records/detail.html", context, status=404)
    writable = as_of is None and can_change(request.user, spec)
    context = {
        "spec": spec,
        "entity_type": entity_type,
        "obj": obj,
        "live": live,
        "label": adapter.label(obj),
        "as_of": as_of,
        "as_of_raw": as_of_raw,
        "fields": _fields_table(spec, adapter.snapshot(obj), golden_lineage(entity_type, pk) if not as_of else {}),
        "sources": _source_links(spec, pk),
        "merges": _merges(spec, pk),
        "requests": list(_open_requests(request.user, spec, pk)),
        "history": _history_rows(spec, pk, as_of),
        "can_change": writable,
        "can_edit": writable and live.status != RecordStatus.RETIRED,
        "can_unmerge": writable and _active_merge(spec, live) is not None,
        "record_panel": _record_panel(spec.model._meta.app_label),
    }
    return render(request, "mdm/records/detail.html", context)
