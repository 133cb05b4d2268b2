"""Trace a record from source to target: the chain the hub keeps for one golden record, change or request.

Given a golden record (``supplier:12``), a correlation id, a change request (``CR-17``) or a source record
(``source:5``), :func:`trace` assembles, per golden record involved:

    source records (system, external id, received at, batch)
    -> match decisions (how each source record was linked, steward decisions, proposals: candidate, score, who)
    -> change requests (number, kind, status, requester, approvers, correlation id)
    -> golden record versions (simple-history rows: version, when, by whom, reason)
    -> outbox events
    -> deliveries per target (status, attempts, the target's id and external id from the key map, last error)

The links: ``Crosswalk.golden_id`` ties source records to the golden record; ``MatchDecision`` refers to records
as ``g:<golden id>`` / ``c:<crosswalk id>``; change requests, decision-log rows, outbox events and deliveries
carry ``(entity_type, object_id)`` and the correlation id; events name the change request they came from; the
``KeyMap`` holds each target's id. A correlation id or change request narrows the change requests, versions,
events and deliveries to that request or change; source records and match decisions are the record's own.

Permissions: a golden record's stages need the view permission on its entity type (and the user's access limits
must admit the record, ``mdm.access``); events, deliveries and target ids need ``sync.view_delivery``. What a user
may not see is left out with a note saying why. Every stage shows at most ``limit`` rows, newest first, and how
many more there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import Max, Q

from mdm import access, registry
from mdm.models import (
    ChangeApproval,
    ChangeRequest,
    Crosswalk,
    DecisionLog,
    MatchCandidate,
    MatchDecision,
    SourceRecord,
)
from mdm.redaction import redact
from sync import selectors
from sync.models import Delivery, KeyMap, OutboxEvent

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_SUBJECTS = 10
"""Golden records shown for one correlation id (a bulk ingest touches thousands: the rest are counted)."""
DELIVERY_PERM = "sync.view_delivery"
_NEVER = datetime.min.replace(tzinfo=UTC)

CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SOURCE = re.compile(r"^(?:sr|source|source[-_ ]?record)\s*[-:#\s]\s*#?(\d{1,18})$", re.IGNORECASE)
_GOLDEN = re.compile(r"^([a-z][a-z_]*)\s*[:#\s]\s*#?(\d{1,18})$", re.IGNORECASE)
_CHANGE = re.compile(r"^(?:cr\s*[-#:]?\s*|#)?(\d{1,18})$", re.IGNORECASE)


class TraceQueryError(ValueError):
    """The search text names nothing the trace understands (the message says what it accepts)."""


@dataclass(frozen=True)
class TraceQuery:
    kind: str
    """``golden``, ``correlation``, ``change_request`` or ``source_record``."""
    value: str
    entity_type: str = ""
    object_id: int | None = None

    def __str__(self) -> str:
        if self.kind == "golden":
            return f"{self.entity_type}:{self.object_id}"
        if self.kind == "change_request":
            return f"CR-{self.object_id}"
        if self.kind == "source_record":
            return f"source:{self.object_id}"
        return self.value


ACCEPTED = (
    'a golden record ("supplier:12", "item 42"), a change request ("CR-17" or its number), a source record '
    '("source:5") or a correlation id (up to 64 letters, digits, ".", "_", ":", "-")'
)


def golden_query(text: str) -> TraceQuery:
    """``supplier:12`` / ``item 42`` -> a golden-record query; the entity type must be a registered one."""
    match = _GOLDEN.match(text.strip())
    if not match or match.group(1).lower() not in registry.entity_types():
        raise TraceQueryError(
            f'{text!r} is not a golden record: write the entity type and the id, e.g. "supplier:12" '
            f"(entity types: {', '.join(registry.entity_types())})."
        )
    return TraceQuery("golden", text, entity_type=match.group(1).lower(), object_id=int(match.group(2)))


def change_request_query(text: str) -> TraceQuery:
    match = _CHANGE.match(text.strip())
    if not match:
        raise TraceQueryError(f'{text!r} is not a change request: give its number, e.g. "17" or "CR-17".')
    return TraceQuery("change_request", text, object_id=int(match.group(1)))


def source_record_query(text: str) -> TraceQuery:
    text = text.strip()
    match = _SOURCE.match(text) or re.match(r"^(\d{1,18})$", text)
    if not match:
        raise TraceQueryError(f'{text!r} is not a source record id: give its number, e.g. "5" or "source:5".')
    return TraceQuery("source_record", text, object_id=int(match.group(1)))


def correlation_query(text: str) -> TraceQuery:
    text = text.strip()
    if not CORRELATION_ID.match(text):
        raise TraceQueryError(
            f"{text[:80]!r} is not a correlation id: up to 64 letters, digits, '.', '_', ':' or '-' "
            "(the X-Request-ID of a request, or the id shown on a change request or delivery)."
        )
    return TraceQuery("correlation", text)


def parse(text: str) -> TraceQuery:
    """The search box: source record, golden record, change request number, else a correlation id."""
    text = (text or "").strip()
    if not text:
        raise TraceQueryError(f"Enter {ACCEPTED}.")
    if _SOURCE.match(text):
        return source_record_query(text)
    golden = _GOLDEN.match(text)
    if golden and golden.group(1).lower() in registry.entity_types():
        return golden_query(text)
    if _CHANGE.match(text):
        return change_request_query(text)
    if CORRELATION_ID.match(text):
        return correlation_query(text)
    raise TraceQueryError(f"Nothing to trace for {text[:80]!r}: enter {ACCEPTED}.")


# --- results --------------------------------------------------------------------------------------------------


@dataclass
class Stage:
    items: list[dict] = field(default_factory=list)
    more: int = 0
    """Rows beyond the ones shown."""
    hidden: str = ""
    """Why this stage is not shown ('' when it is)."""


@dataclass
class Subject:
    """One golden record and its chain."""

    entity_type: str
    object_id: int
    label: str
    status: str
    version: int
    sources: Stage
    matches: Stage
    change_requests: Stage
    versions: Stage
    events: Stage
    deliveries: Stage
    keys: Stage


@dataclass
class Trace:
    query: TraceQuery
    subjects: list[Subject] = field(default_factory=list)
    more_subjects: int = 0
    change_request: dict | None = None
    """The change request a ``change_request`` query named (also when it changed no record yet)."""
    source_record: dict | None = None
    """The source record a ``source_record`` query named (also when it is linked to no golden record)."""
    notes: list[str] = field(default_factory=list)
    """What was left out and why, and why nothing was found."""

    @property
    def found(self) -> bool:
        return bool(self.subjects or self.change_request or self.source_record)


@dataclass
class _Scope:
    """What narrows the chain of a record: a correlation id or a change request."""

    correlation_id: str = ""
    change_request_id: int | None = None


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _bounded(qs, limit: int) -> tuple[list, int]:
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, 0
    return rows[:limit], qs.count() - limit


def _may_view(user, spec) -> bool:
    meta = spec.model._meta
    return bool(user and user.is_authenticated and user.has_perm(f"{meta.app_label}.view_{meta.model_name}"))


def may_trace(user) -> bool:
    """Whether ``user`` may use the trace at all: read access to some entity type, or the deliveries."""
    if not (user and user.is_authenticated):
        return False
    return user.has_perm(DELIVERY_PERM) or any(_may_view(user, spec) for spec in registry.all_specs())


# --- stages ---------------------------------------------------------------------------------------------------


def _source_item(record: SourceRecord) -> dict:
    return {
        "id": record.pk,
        "system": record.system.name,
        "external_id": record.external_id,
        "version": record.version,
        "is_current": record.is_current,
        "received_at": record.received_at,
        "batch_id": record.batch_id,
        "channel": record.batch.channel if record.batch_id else "",
    }


def _sources(entity_type: str, object_id: int, crosswalks: list[Crosswalk], limit: int) -> Stage:
    qs = (
        SourceRecord.objects.filter(crosswalk__in=[c.pk for c in crosswalks])
        .select_related("system", "batch")
        .defer("payload", "standardized")
        .order_by("-received_at", "-id")
    )
    rows, more = _bounded(qs, limit)
    return Stage([_source_item(row) for row in rows], more)


def _matches(entity_type: str, object_id: int, crosswalks: list[Crosswalk], limit: int) -> Stage:
    """How each source record came to this record, and the steward decisions and proposals about it."""
    items: list[dict] = []
    for xw in crosswalks:
        if not xw.link_method:
            continue
        items.append(
            {
                "kind": "link",
                "candidate": f"{xw.system.name}:{xw.external_id}",
                "score": xw.match_score,
                "outcome": xw.get_link_method_display(),
                "decided_by": _username(xw.linked_by) or "the hub",
                "at": xw.linked_at,
                "reason": "",
            }
        )
    refs = [f"g:{object_id}", *(f"c:{xw.pk}" for xw in crosswalks)]
    decisions = (
        MatchDecision.objects.filter(Q(left_ref__in=refs) | Q(right_ref__in=refs), entity_type=entity_type)
        .select_related("decided_by")
        .order_by("-decided_at")
    )
    decided, more_decided = _bounded(decisions, limit)
    own = set(refs)
    for d in decided:
        other = d.right_ref if d.left_ref in own else d.left_ref
        items.append(
            {
                "kind": "decision",
                "candidate": other,
                "score": (d.evidence or {}).get("probability"),
                "outcome": "match" if d.is_match else "not a match",
                "decided_by": _username(d.decided_by),
                "at": d.decided_at,
                "reason": d.reason,
            }
        )
    proposals = (
        MatchCandidate.objects.filter(
            Q(left_golden_id=object_id) | Q(right_golden_id=object_id), entity_type=entity_type
        )
        .select_related("decided_by")
        .order_by("-created_at", "-id")
    )
    proposed, more_proposed = _bounded(proposals, limit)
    for c in proposed:
        other = c.left_ref if c.right_golden_id == object_id else c.right_ref
        items.append(
            {
                "kind": "proposal",
                "candidate": other,
                "score": round(c.probability, 4),
                "outcome": c.get_status_display(),
                "decided_by": _username(c.decided_by),
                "at": c.decided_at or c.created_at,
                "reason": c.decision_reason,
            }
        )
    items.sort(key=lambda item: item["at"] or _NEVER, reverse=True)
    more = max(0, len(items) - limit) + more_decided + more_proposed
    return Stage(items[:limit], more)


def _change_item(cr: ChangeRequest, approvers: list[str]) -> dict:
    return {
        "number": cr.pk,
        "kind": cr.kind,
        "status": cr.status,
        "origin": cr.origin,
        "title": cr.title,
        "requested_by": _username(cr.requested_by) or cr.get_origin_display(),
        "approvers": approvers,
        "auto_approved": cr.auto_approved,
        "correlation_id": cr.correlation_id,
        "created_at": cr.created_at,
        "applied_at": cr.applied_at,
        "applied_version": cr.applied_version,
    }


def _approvers(requests: list[ChangeRequest]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {cr.pk: [] for cr in requests}
    given = ChangeApproval.objects.filter(
        change_request__in=list(found), decision=ChangeApproval.Decision.APPROVE, void=False
    ).values_list("change_request_id", "actor__username")
    for request_id, username in given.order_by("created_at", "id"):
        found[request_id].append(username)
    return found


def _change_requests(entity_type: str, object_id: int, scope: _Scope, limit: int) -> Stage:
    qs = ChangeRequest.objects.filter(entity_type=entity_type, object_id=object_id)
    if scope.change_request_id is not None:
        qs = qs.filter(pk=scope.change_request_id)
    elif scope.correlation_id:
        qs = qs.filter(correlation_id=scope.correlation_id)
    rows, more = _bounded(qs.select_related("requested_by").order_by("-created_at", "-id"), limit)
    approvers = _approvers(rows)
    return Stage([_change_item(cr, approvers[cr.pk]) for cr in rows], more)


def _versions(spec, object_id: int, scope: _Scope, limit: int) -> Stage:
    history = getattr(spec.model, "history", None)
    if history is None:
        return Stage(hidden=f"{spec.label} records keep no version history.")
    qs = history.model.objects.filter(id=object_id)
    if scope.change_request_id is not None or scope.correlation_id:
        # The versions the request (or the requests under the correlation id) wrote: their events say which.
        events = OutboxEvent.objects.filter(entity_type=spec.entity_type, object_id=object_id)
        requests = ChangeRequest.objects.filter(entity_type=spec.entity_type, object_id=object_id)
        if scope.change_request_id is not None:
            events = events.filter(change_request_id=scope.change_request_id)
            requests = requests.filter(pk=scope.change_request_id)
        else:
            events = events.filter(correlation_id=scope.correlation_id)
            requests = requests.filter(correlation_id=scope.correlation_id)
        versions = set(events.values_list("version", flat=True))
        versions |= {v for v in requests.values_list("applied_version", flat=True) if v is not None}
        qs = qs.filter(version__in=versions)
    rows, more = _bounded(qs.select_related("history_user").order_by("-history_date", "-history_id"), limit)
    return Stage(
        [
            {
                "version": row.version,
                "at": row.history_date,
                "by": _username(row.history_user),
                "reason": redact(row.history_change_reason or ""),
                "type": {"+": "created", "~": "changed", "-": "deleted"}.get(row.history_type, row.history_type),
            }
            for row in rows
        ],
        more,
    )


def _events(entity_type: str, object_id: int, scope: _Scope, limit: int) -> Stage:
    qs = OutboxEvent.objects.filter(entity_type=entity_type, object_id=object_id).defer("payload")
    if scope.change_request_id is not None:
        qs = qs.filter(change_request_id=scope.change_request_id)
    elif scope.correlation_id:
        qs = qs.filter(correlation_id=scope.correlation_id)
    rows, more = _bounded(qs.order_by("-id"), limit)
    return Stage(
        [
            {
                "id": e.pk,
                "event_id": str(e.event_id),
                "version": e.version,
                "change_type": e.change_type,
                "correlation_id": e.correlation_id,
                "change_request": e.change_request_id,
                "created_at": e.created_at,
                "dispatched_at": e.dispatched_at,
            }
            for e in rows
        ],
        more,
    )


def _keys(entity_type: str, object_id: int, limit: int) -> tuple[Stage, dict[int, KeyMap]]:
    qs = KeyMap.objects.filter(entity_type=entity_type, object_id=object_id).select_related("target")
    rows, more = _bounded(qs.defer("last_payload").order_by("target__name"), limit)
    items = [
        {
            "target": k.target.name,
            "target_id": k.target_id,
            "target_model": k.target_model,
            "target_ref": k.target_ref,
            "external_id": k.external_id,
            "last_version": k.last_version,
            "last_delivered_at": k.last_delivered_at,
            "archived": k.archived,
        }
        for k in rows
    ]
    return Stage(items, more), {k.target_id: k for k in rows}


def _deliveries(entity_type: str, object_id: int, scope: _Scope, keys: dict[int, KeyMap], limit: int) -> Stage:
    qs = Delivery.objects.filter(entity_type=entity_type, object_id=object_id)
    if scope.change_request_id is not None:
        qs = qs.filter(event__change_request_id=scope.change_request_id)
    elif scope.correlation_id:
        qs = qs.filter(correlation_id=scope.correlation_id)
    rows, more = _bounded(
        qs.select_related("target").defer("request_excerpt", "response_excerpt").order_by("-id"), limit
    )
    items = []
    for d in rows:
        key = keys.get(d.target_id)
        items.append(
            {
                "id": d.pk,
                "target": d.target.name,
                "target_id": d.target_id,
                "version": d.version,
                "status": d.status,
                "attempts": d.attempts,
                "correlation_id": d.correlation_id,
                "target_ref": d.target_ref or (key.target_ref if key else ""),
                "external_id": key.external_id if key else "",
                "created_at": d.created_at,
                "delivered_at": d.delivered_at,
                "last_error": redact(selectors.redacted(d.last_error, d.target))[:500],
            }
        )
    return Stage(items, more)


def _subject(user, spec, obj, scope: _Scope, limit: int) -> Subject:
    entity_type, object_id = spec.entity_type, obj.pk
    crosswalks = list(
        Crosswalk.objects.filter(entity_type=entity_type, golden_id=object_id)
        .select_related("system", "linked_by")
        .order_by("-linked_at", "-id")[:MAX_LIMIT]
    )
    label = spec.stewardship.label(obj) if spec.stewardship is not None else str(obj)
    if user.has_perm(DELIVERY_PERM):
        keys_stage, keys = _keys(entity_type, object_id, limit)
        events = _events(entity_type, object_id, scope, limit)
        deliveries = _deliveries(entity_type, object_id, scope, keys, limit)
    else:
        why = "Outbox events, deliveries and target ids need the operations role (sync.view_delivery)."
        keys_stage, events, deliveries = Stage(hidden=why), Stage(hidden=why), Stage(hidden=why)
    return Subject(
        entity_type=entity_type,
        object_id=object_id,
        label=str(label),
        status=getattr(obj, "status", ""),
        version=getattr(obj, "version", 0),
        sources=_sources(entity_type, object_id, crosswalks, limit),
        matches=_matches(entity_type, object_id, crosswalks, limit),
        change_requests=_change_requests(entity_type, object_id, scope, limit),
        versions=_versions(spec, object_id, scope, limit),
        events=events,
        deliveries=deliveries,
        keys=keys_stage,
    )


def _subjects(user, trace: Trace, records: list[tuple[str, int]], scope: _Scope, limit: int) -> None:
    """The chains of ``records`` the user may see; notes for the others."""
    hidden: dict[str, int] = {}
    for entity_type, object_id in records:
        try:
            spec = registry.get(entity_type)
        except KeyError:
            trace.notes.append(f"{entity_type} #{object_id}: an entity type this hub no longer knows.")
            continue
        if not _may_view(user, spec):
            hidden[spec.label] = hidden.get(spec.label, 0) + 1
            continue
        obj = spec.model._default_manager.filter(pk=object_id).first()
        if obj is None or not access.admits(user, entity_type, object_id):
            # Outside the user's access limits reads exactly like a record that does not exist.
            trace.notes.append(f"There is no {spec.label.lower()} #{object_id}.")
            continue
        trace.subjects.append(_subject(user, spec, obj, scope, limit))
    for label, count in hidden.items():
        trace.notes.append(
            f"{count} {label.lower()} record{'s' if count != 1 else ''} left out: your role may not read "
            f"{label.lower()} records."
        )


def _records_for_correlation(correlation_id: str) -> tuple[list[tuple[str, int]], int]:
    """The golden records a correlation id touched (change requests, events, deliveries), most recent first, and
    how many more there are (counted up to a few hundred per kind of row)."""
    found: dict[tuple[str, int], int] = {}
    sources = (
        ChangeRequest.objects.filter(correlation_id=correlation_id, object_id__isnull=False),
        OutboxEvent.objects.filter(correlation_id=correlation_id),
        Delivery.objects.filter(correlation_id=correlation_id),
        DecisionLog.objects.filter(correlation_id=correlation_id, object_id__isnull=False),
    )
    for qs in sources:
        pairs = qs.values("entity_type", "object_id").annotate(last=Max("id")).order_by("-last")
        for row in pairs[: MAX_SUBJECTS * 50]:
            key = (row["entity_type"], row["object_id"])
            found.setdefault(key, row["last"])
    records = list(found)
    return records[:MAX_SUBJECTS], max(0, len(records) - MAX_SUBJECTS)


def trace(query: TraceQuery, *, user, limit: int = DEFAULT_LIMIT) -> Trace:
    """The chain behind ``query`` as ``user`` may see it (see the module docstring)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    result = Trace(query=query)
    if query.kind == "golden":
        _subjects(user, result, [(query.entity_type, query.object_id)], _Scope(), limit)
    elif query.kind == "correlation":
        records, more = _records_for_correlation(query.value)
        result.more_subjects = more
        _subjects(user, result, records, _Scope(correlation_id=query.value), limit)
        if not records:
            result.notes.append(
                f"No change request, outbox event or delivery carries the correlation id {query.value!r}. "
                "Requests that changed no golden record (reads, ingests still waiting for a match) leave none."
            )
    elif query.kind == "change_request":
        _trace_change_request(user, result, query.object_id, limit)
    elif query.kind == "source_record":
        _trace_source_record(user, result, query.object_id, limit)
    else:  # pragma: no cover - parse() makes only these
        raise TraceQueryError(f"unknown trace kind {query.kind!r}")
    return result


def _trace_change_request(user, result: Trace, number: int, limit: int) -> None:
    cr = ChangeRequest.objects.select_related("requested_by").filter(pk=number).first()
    spec = _spec_or_none(cr.entity_type) if cr is not None else None
    if cr is None or spec is None or not _may_view(user, spec):
        if cr is not None and spec is not None:
            result.notes.append(
                f"Change request #{number} is about {spec.label.lower()} records, which you may not read."
            )
        else:
            result.notes.append(f"There is no change request #{number}.")
        return
    if cr.object_id is not None and not access.admits(user, cr.entity_type, cr.object_id):
        result.notes.append(f"There is no change request #{number}.")
        return
    result.change_request = _change_item(cr, _approvers([cr])[cr.pk])
    records = []
    if cr.object_id is not None:
        records.append((cr.entity_type, cr.object_id))
    merged = (cr.changes or {}).get("merged_id") if cr.kind == ChangeRequest.Kind.MERGE else None
    if merged:
        records.append((cr.entity_type, int(merged)))
    if not records:
        result.notes.append(f"Change request #{number} is {cr.get_status_display().lower()}: it created no record yet.")
    _subjects(user, result, records, _Scope(change_request_id=cr.pk), limit)


def _trace_source_record(user, result: Trace, pk: int, limit: int) -> None:
    record = SourceRecord.objects.select_related("system", "batch", "crosswalk").defer("payload").filter(pk=pk).first()
    spec = _spec_or_none(record.entity_type) if record is not None else None
    if record is None or spec is None or not _may_view(user, spec):
        if record is not None and spec is not None:
            result.notes.append(f"Source record #{pk} is a {spec.label.lower()} record, which you may not read.")
        else:
            result.notes.append(f"There is no source record #{pk}.")
        return
    golden_id = record.crosswalk.golden_id
    if golden_id is not None and not access.admits(user, record.entity_type, golden_id):
        result.notes.append(f"There is no source record #{pk}.")
        return
    result.source_record = {**_source_item(record), "entity_type": record.entity_type, "golden_id": golden_id}
    if golden_id is None:
        result.notes.append(
            f"Source record #{pk} is linked to no golden record yet (waiting for matching or a steward's review)."
        )
        return
    _subjects(user, result, [(record.entity_type, golden_id)], _Scope(), limit)


def _spec_or_none(entity_type: str):
    try:
        return registry.get(entity_type)
    except KeyError:
        return None


def as_data(result: Trace) -> dict[str, Any]:
    """The trace as plain data (the API's body)."""

    def stage(s: Stage) -> dict:
        return {"items": s.items, "more": s.more, "hidden": s.hidden}

    return {
        "query": {"kind": result.query.kind, "value": str(result.query)},
        "found": result.found,
        "change_request": result.change_request,
        "source_record": result.source_record,
        "subjects": [
            {
                "entity_type": s.entity_type,
                "object_id": s.object_id,
                "label": s.label,
                "status": s.status,
                "version": s.version,
                "sources": stage(s.sources),
                "matches": stage(s.matches),
                "change_requests": stage(s.change_requests),
                "versions": stage(s.versions),
                "events": stage(s.events),
                "deliveries": stage(s.deliveries),
                "keys": stage(s.keys),
            }
            for s in result.subjects
        ],
        "more_subjects": result.more_subjects,
        "notes": result.notes,
    }
