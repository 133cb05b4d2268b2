"""Change requests: propose, approve (four eyes), apply; merges and unmerges; the approval policy.

Every change to a golden record made by a person or a source goes through here:

- ``change_request_create`` validates the proposed values with the entity's ``StewardshipAdapter``,
  computes the field-level diff against the current version (``base_version``) and applies the policy:
  one approver, two when a sensitive field changes (a supplier's bank accounts and tax identifiers), none
  for low-risk fields sent by a trusted source (recorded as auto-approved).
- ``change_request_approve`` refuses the requester (four eyes), service accounts, people without the
  approve permission or outside their approval scopes, and a request whose base version is stale
  (``StaleBaseError``: rebase first). The last approval applies the change: the golden record's history,
  the request's status and a ``DecisionLog`` row are written in one transaction.
- Merges record every row they move in a ``MergeRecord``; an unmerge puts each one back, also when the
  survivor was merged again later (A into B, B into C, then unmerge A).
"""

from __future__ import annotations

import json

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import timezone

from mdm import registry
from mdm.choices import LinkMethod, RecordStatus
from mdm.context import ChangeContext, bound, current_correlation_id, new_correlation_id
from mdm.models import (
    ApprovalScope,
    ChangeApproval,
    ChangeComment,
    ChangeRequest,
    Crosswalk,
    DecisionLog,
    GoldenChild,
    GoldenLineage,
    GoldenRecord,
    MatchCandidate,
    MergeRecord,
    PinnedValue,
)
from mdm.roles import INTEGRATION
from mdm.services.golden import golden_save, golden_save_child

Status = ChangeRequest.Status
Kind = ChangeRequest.Kind
Origin = ChangeRequest.Origin

PIN_KEY = "_pin"
"""Reserved key of ``changes``: the fields the steward pins (survivorship keeps them)."""


class ChangeError(ValueError):
    """A change request cannot do what was asked; the message says why, for the person who asked."""

    code = "change_error"


class StaleBaseError(ChangeError):
    """The record changed since the request's base version: rebase the request, then approve."""

    code = "stale_base"


class ChangePermissionError(ChangeError):
    code = "permission_denied"


# --- reading --------------------------------------------------------------------------------------------------


def stewardship(entity_type: str):
    """``(spec, adapter)`` for an entity type stewards may change; ``ChangeError`` otherwise."""
    try:
        spec = registry.get(entity_type)
    except KeyError as exc:
        raise ChangeError(str(exc.args[0])) from None
    if spec.stewardship is None:
        raise ChangeError(f"{spec.label} records are not changed through change requests.")
    return spec, spec.stewardship


def _golden(spec, object_id, *, lock: bool = False):
    manager = spec.model._default_manager
    if lock:
        manager = manager.select_for_update()
    try:
        return manager.get(pk=object_id)
    except (spec.model.DoesNotExist, ValueError, TypeError):
        raise ChangeError(f"{spec.label} {object_id} does not exist.") from None


def field_label(entity_type: str, field: str) -> str:
    spec, adapter = stewardship(entity_type)
    if field in adapter.labels:
        return adapter.labels[field]
    try:
        return str(spec.model._meta.get_field(field).verbose_name).capitalize()
    except Exception:
        return field.replace("_", " ").capitalize()


def public_value(value):
    """A value as shown in a diff: encrypted secrets (``*_encrypted`` keys) left out."""
    if isinstance(value, dict):
        return {key: public_value(item) for key, item in value.items() if not key.endswith("_encrypted")}
    if isinstance(value, list):
        return [public_value(item) for item in value]
    return value


def _canonical(value) -> str:
    return json.dumps(public_value(value), sort_keys=True, default=str)


def same_value(old, new) -> bool:
    if old in (None, "") and new in (None, ""):
        return True
    return _canonical(old) == _canonical(new)


def _diff(entity_type: str, adapter, before: dict, after: dict) -> list[dict]:
    rows = []
    for field in adapter.fields:
        if field not in after or same_value(before.get(field), after[field]):
            continue
        rows.append(
            {
                "field": field,
                "label": field_label(entity_type, field),
                "old": public_value(before.get(field)),
                "new": public_value(after[field]),
                "sensitive": field in adapter.sensitive,
            }
        )
    return rows


def _username(user) -> str:
    return user.get_username() if user is not None else ""


# --- who may do what ------------------------------------------------------------------------------------------


def is_service_account(user) -> bool:
    return user.groups.filter(name=INTEGRATION).exists()


def can_propose(user, entity_type: str | None = None) -> bool:
    """People and service accounts with ``mdm.add_changerequest`` may propose changes (and read the record)."""
    if not (user and user.is_authenticated and user.is_active and user.has_perm("mdm.add_changerequest")):
        return False
    if entity_type is None:
        return True
    model = registry.get(entity_type).model
    return user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


def approval_scopes(user):
    """The approval scopes a user holds (directly or through a group), via django-guardian."""
    from guardian.shortcuts import get_objects_for_user

    return get_objects_for_user(user, "mdm.approve_in_scope", klass=ApprovalScope, accept_global_perms=False)


def approval_scope_q(user) -> models.Q | None:
    """A filter on ChangeRequest for the requests inside the user's scopes; ``None`` means every request.

    Scopes are grouped per entity type: supplier scopes become one ``IN`` list, category scopes one prefix
    test each, so hundreds of scopes still make a short, index-friendly condition.
    """
    if user.is_superuser:
        return None
    everything: set[str] = set()
    prefixes: dict[str, set[str]] = {}
    suppliers: dict[str, set[int]] = {}
    for scope in approval_scopes(user):
        entity = scope.entity_type
        if scope.is_global:
            if not entity:
                return None
            everything.add(entity)
            continue
        if scope.unspsc_prefix:
            prefixes.setdefault(entity, set()).add(scope.unspsc_prefix)
        if scope.supplier_id is not None:
            suppliers.setdefault(entity, set()).add(scope.supplier_id)
    q = models.Q(pk__in=[])
    if everything:
        q |= models.Q(entity_type__in=sorted(everything))
    for entity in sorted(set(prefixes) | set(suppliers)):
        within = models.Q(pk__in=[])
        for prefix in sorted(prefixes.get(entity, ())):
            within |= models.Q(scope_category__startswith=prefix)
        if suppliers.get(entity):
            within |= models.Q(scope_supplier_id__in=sorted(suppliers[entity]))
        q |= (models.Q(entity_type=entity) & within) if entity else within
    return q


def _in_scope(user, cr: ChangeRequest) -> bool:
    if user.is_superuser:
        return True
    for scope in approval_scopes(user):
        if scope.entity_type and scope.entity_type != cr.entity_type:
            continue
        if scope.is_global:
            return True
        if scope.unspsc_prefix and cr.scope_category.startswith(scope.unspsc_prefix):
            return True
        if scope.supplier_id is not None and scope.supplier_id == cr.scope_supplier_id:
            return True
    return False


def can_approve(user, cr: ChangeRequest) -> tuple[bool, str]:
    """Whether ``user`` may approve (or reject) ``cr`` now, and if not, why (a sentence for the UI and API)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False, "Log in to approve change requests."
    if cr.status != Status.SUBMITTED:
        return False, f"This change request is {cr.get_status_display().lower()}; only submitted requests are decided."
    if cr.requested_by_id is not None and cr.requested_by_id == user.pk:
        return False, "You requested this change: someone else must approve it (four-eyes rule)."
    if is_service_account(user):
        return False, "Service accounts may submit change requests but never approve them."
    if not user.has_perm("mdm.approve_changerequest"):
        return False, "Only approvers may approve or reject change requests."
    model = registry.get(cr.entity_type).model
    if not user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
        return False, f"You may not read {model._meta.verbose_name_plural}, so you cannot approve changes to them."
    if cr.approvals.filter(actor=user, void=False).exists():
        return False, "You already approved this request; it needs another approver."
    if not _in_scope(user, cr):
        what = f"UNSPSC {cr.scope_category}" if cr.scope_category else f"{cr.entity_type} {cr.object_id or '(new)'}"
        return False, f"This change ({what}) is outside your approval scopes."
    return True, ""


# --- proposing ------------------------------------------------------------------------------------------------


def _require_reason(reason: str) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": ["Say why this change is needed: the reason goes into the record's history."]})
    return reason


def _scope(adapter, obj, values) -> dict:
    scope = adapter.scope(obj, values) or {}
    return {"scope_category": scope.get("category") or "", "scope_supplier_id": scope.get("supplier_id")}


def _policy(cr: ChangeRequest, adapter) -> None:
    sensitive = any(row.get("sensitive") for row in cr.diff)
    cr.required_approvals = settings.MDM_CHANGE_SENSITIVE_APPROVALS if sensitive else 1
    cr.risk = ChangeRequest.Risk.HIGH if sensitive else ChangeRequest.Risk.NORMAL
    trusted = (
        cr.origin == Origin.SURVIVORSHIP
        and cr.source_record is not None
        and cr.source_record.system.trust_rank <= settings.MDM_CHANGE_AUTO_APPROVE_TRUST_RANK
    )
    if (
        cr.kind == Kind.UPDATE
        and trusted
        and not sensitive
        and cr.diff
        and all(row["field"] in adapter.low_risk for row in cr.diff)
    ):
        cr.risk = ChangeRequest.Risk.LOW


def _check_can_propose(actor, entity_type, origin):
    if origin == Origin.SURVIVORSHIP and actor is None:
        return
    if not can_propose(actor, entity_type):
        raise ChangePermissionError("You may not propose changes to these records.")


@transaction.atomic
def change_request_create(
    *,
    entity_type: str,
    kind: str,
    actor,
    reason: str,
    object_id: int | None = None,
    changes: dict | None = None,
    submit: bool = True,
    origin: str = Origin.STEWARD,
    match_candidate=None,
    source_record=None,
    evidence: dict | None = None,
    pins=(),
) -> ChangeRequest:
    """Propose creating or updating a golden record (``kind`` create / update).

    ``changes`` holds the proposed values by field (only the fields that change for an update). They are
    validated and normalized by the entity's adapter (``ValidationError`` keyed by field, nothing
    written); fields equal to the current value are dropped, and a request that changes nothing is
    refused. ``pins`` names fields whose new value survivorship must keep. With ``submit`` the request
    goes straight to the approvers (and is applied at once when the policy auto-approves it).
    """
    if kind == Kind.RETIRE:
        return retire_propose(entity_type=entity_type, object_id=object_id, actor=actor, reason=reason, origin=origin)
    if kind not in (Kind.CREATE, Kind.UPDATE):
        raise ChangeError(f"Use the merge and unmerge actions for a {kind}; this call creates or updates records.")
    spec, adapter = stewardship(entity_type)
    _check_can_propose(actor, entity_type, origin)
    reason = _require_reason(reason)
    changes = dict(changes or {})
    pins = [str(field) for field in pins or ()]
    unknown = sorted(set(changes) - set(adapter.fields))
    if unknown:
        raise ValidationError({field: ["Not a field stewards can change."] for field in unknown})
    unknown_pins = sorted(set(pins) - set(adapter.fields))
    if unknown_pins:
        raise ValidationError({"pins": [f"Not a field stewards can change: {', '.join(unknown_pins)}."]})

    obj = None
    if kind == Kind.UPDATE:
        if object_id is None:
            raise ValidationError({"object_id": ["Name the record to change."]})
        obj = _golden(spec, object_id)
        if obj.status == RecordStatus.RETIRED:
            raise ChangeError(f"{spec.label} {obj.pk} is retired; unmerge or reactivate it before changing it.")
        before = adapter.snapshot(obj)
    else:
        before = {}
    if kind == Kind.CREATE:
        _require_complete(spec, adapter, changes)
    normalized = adapter.validate(changes, obj)
    diff = _diff(entity_type, adapter, before, normalized)
    if not diff and not pins:
        raise ValidationError({"__all__": ["Nothing changed: every proposed value equals the record's current value."]})
    kept = {row["field"]: normalized[row["field"]] for row in diff}
    if kind == Kind.CREATE:
        kept = dict(normalized)
    for field in pins:
        kept.setdefault(field, normalized[field] if field in normalized else before.get(field))
    if pins:
        kept[PIN_KEY] = pins
    values = {**before, **normalized}
    cr = ChangeRequest(
        correlation_id=current_correlation_id() or new_correlation_id(),
        entity_type=entity_type,
        object_id=obj.pk if obj is not None else None,
        kind=kind,
        title=(adapter.label(obj) if obj is not None else _new_label(adapter, values))[:255],
        changes=kept,
        diff=diff,
        base_version=obj.version if obj is not None else None,
        reason=reason,
        requested_by=actor,
        origin=origin,
        source_record=source_record,
        match_candidate=match_candidate,
        evidence=evidence or {},
        **_scope(adapter, obj, values),
    )
    _policy(cr, adapter)
    cr.save()
    if submit:
        _submit(cr, actor=actor)
    return cr


def _require_complete(spec, adapter, changes: dict) -> None:
    """A new record needs every field its model requires (checked at proposal time, not at approval)."""
    missing = {}
    for name in adapter.fields:
        try:
            field = spec.model._meta.get_field(name)
        except FieldDoesNotExist:  # a child collection (aliases, packaging): optional
            continue
        required = not field.blank and not field.has_default() and not getattr(field, "auto_now_add", False)
        if required and changes.get(name) in (None, "", []):
            missing[name] = ["This field is required."]
    if missing:
        raise ValidationError(missing)


def _new_label(adapter, values: dict) -> str:
    for key in ("legal_name", "short_name", "description", "name", "code"):
        if values.get(key):
            return str(values[key])
    return "new record"


def _check_base(cr: ChangeRequest, *, lock: bool = False) -> None:
    """Refuse (``StaleBaseError``) when a record the request is based on has moved on since."""
    if cr.kind == Kind.CREATE:
        return
    spec, _ = stewardship(cr.entity_type)
    obj = _golden(spec, cr.object_id, lock=lock)
    if cr.base_version is not None and obj.version != cr.base_version:
        raise StaleBaseError(
            f"{spec.label} {obj.pk} is at version {obj.version}, but this request was made on version "
            f"{cr.base_version}: someone changed it since. Rebase the request (it recomputes the diff and asks "
            "for approval again), then approve."
        )
    merged_version = (cr.changes or {}).get("merged_version")
    if cr.kind == Kind.MERGE and merged_version is not None:
        merged = _golden(spec, cr.changes["merged_id"], lock=lock)
        if merged.version != merged_version:
            raise StaleBaseError(
                f"{spec.label} {merged.pk} (the record to merge) is at version {merged.version}, but this request "
                f"was made on version {merged_version}. Rebase the request, then approve."
            )


def _submit(cr: ChangeRequest, *, actor) -> None:
    cr.status = Status.SUBMITTED
    cr.submitted_at = timezone.now()
    cr.save(update_fields=["status", "submitted_at", "updated_at"])
    if cr.risk == ChangeRequest.Risk.LOW and cr.origin == Origin.SURVIVORSHIP:
        cr.auto_approved = True
        cr.status = Status.APPROVED
        cr.decided_at = timezone.now()
        cr.save(update_fields=["auto_approved", "status", "decided_at", "updated_at"])
        _apply(cr, actor=actor, auto=True)


def _lock(cr: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.select_for_update().get(pk=cr.pk)


@transaction.atomic
def change_request_submit(cr: ChangeRequest, *, actor) -> ChangeRequest:
    cr = _lock(cr)
    if cr.status != Status.DRAFT:
        raise ChangeError(f"Only a draft can be submitted; this request is {cr.get_status_display().lower()}.")
    if cr.requested_by_id not in (None, actor.pk) and not actor.is_superuser:
        raise ChangePermissionError("Only the requester can submit their draft.")
    _submit(cr, actor=actor)
    return cr


@transaction.atomic
def _require_submitted(cr: ChangeRequest) -> None:
    if cr.status != Status.SUBMITTED:
        raise ChangeError(
            f"This change request is {cr.get_status_display().lower()}; only submitted requests are approved or rejected."
        )


@transaction.atomic
def change_request_approve(cr: ChangeRequest, *, actor, reason: str = "") -> ChangeRequest:
    """Record ``actor``'s approval; the last approval the policy needs applies the change."""
    cr = _lock(cr)
    _require_submitted(cr)
    allowed, why = can_approve(actor, cr)
    if not allowed:
        raise ChangePermissionError(why)
    _check_base(cr)
    ChangeApproval.objects.create(
        change_request=cr,
        actor=actor,
        decision=ChangeApproval.Decision.APPROVE,
        reason=reason.strip(),
        base_version=cr.base_version,
    )
    if cr.approvals.filter(decision=ChangeApproval.Decision.APPROVE, void=False).count() >= cr.required_approvals:
        cr.status = Status.APPROVED
        cr.decided_at = timezone.now()
        cr.save(update_fields=["status", "decided_at", "updated_at"])
        _apply(cr, actor=actor)
    return cr


@transaction.atomic
def change_request_reject(cr: ChangeRequest, *, actor, reason: str) -> ChangeRequest:
    cr = _lock(cr)
    _require_submitted(cr)
    allowed, why = can_approve(actor, cr)
    if not allowed:
        raise ChangePermissionError(why)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": ["Say why you reject this change: the requester needs to know."]})
    ChangeApproval.objects.create(
        change_request=cr,
        actor=actor,
        decision=ChangeApproval.Decision.REJECT,
        reason=reason,
        base_version=cr.base_version,
    )
    cr.status = Status.REJECTED
    cr.decided_at = timezone.now()
    cr.save(update_fields=["status", "decided_at", "updated_at"])
    _log(cr, action=DecisionLog.Action.REJECTED, actor=actor, reason=reason)
    if cr.kind == Kind.MERGE and cr.match_candidate_id:
        _reopen_candidate(cr)
    return cr


def _reopen_candidate(cr: ChangeRequest) -> None:
    # A rejected merge does not settle the pair: it goes back to the review inbox.
    MatchCandidate.objects.filter(pk=cr.match_candidate_id, status=MatchCandidate.Status.CONFIRMED).update(
        status=MatchCandidate.Status.OPEN, updated_at=timezone.now()
    )


@transaction.atomic
def change_request_withdraw(cr: ChangeRequest, *, actor, reason: str = "") -> ChangeRequest:
    cr = _lock(cr)
    if cr.status not in (Status.DRAFT, Status.SUBMITTED):
        raise ChangeError(f"Only open requests can be withdrawn; this one is {cr.get_status_display().lower()}.")
    if actor is not None and cr.requested_by_id not in (None, actor.pk) and not actor.is_superuser:
        raise ChangePermissionError("Only the requester can withdraw a change request.")
    cr.status = Status.WITHDRAWN
    cr.decided_at = timezone.now()
    cr.save(update_fields=["status", "decided_at", "updated_at"])
    if reason:
        ChangeComment.objects.create(change_request=cr, author=actor, text=f"Withdrawn: {reason}")
    _log(cr, action=DecisionLog.Action.WITHDRAWN, actor=actor, reason=reason)
    if cr.kind == Kind.MERGE and cr.match_candidate_id:
        _reopen_candidate(cr)
    return cr


@transaction.atomic
def change_request_comment(cr: ChangeRequest, *, actor, text: str) -> ChangeComment:
    """Comments come from the people who work on requests: proposers and approvers, not viewers."""
    if not (can_propose(actor) or (actor is not None and actor.has_perm("mdm.approve_changerequest"))):
        raise ChangePermissionError("Only stewards and approvers can comment on change requests.")
    text = str(text or "").strip()
    if not text:
        raise ValidationError({"text": ["Write a comment."]})
    return ChangeComment.objects.create(change_request=cr, author=actor, text=text)


@transaction.atomic
def change_request_rebase(cr: ChangeRequest, *, actor) -> ChangeRequest:
    """Recompute the diff against the record's current version; approvals given so far become void.

    Fields someone else changed since the base version are listed in the comment so the approvers see
    them; fields that now already hold the proposed value drop out. Nothing left to change -> refused.
    """
    cr = _lock(cr)
    if cr.status not in (Status.DRAFT, Status.SUBMITTED):
        raise ChangeError(f"Only open requests can be rebased; this one is {cr.get_status_display().lower()}.")
    if actor is not None and not (
        actor.is_superuser or cr.requested_by_id in (None, actor.pk) or can_propose(actor, cr.entity_type)
    ):
        raise ChangePermissionError("You may not rebase this change request.")
    if cr.kind == Kind.CREATE:
        raise ChangeError("A request to create a record has no base version to rebase.")
    spec, adapter = stewardship(cr.entity_type)
    obj = _golden(spec, cr.object_id, lock=True)
    old_base = cr.base_version
    note = f"Rebased from version {old_base} to {obj.version}"
    if cr.kind == Kind.UPDATE:
        before = adapter.snapshot(obj)
        proposed = {key: value for key, value in cr.changes.items() if key != PIN_KEY}
        conflicts = [
            row["label"]
            for row in cr.diff
            if row["field"] in before and not same_value(row["old"], public_value(before[row["field"]]))
        ]
        diff = _diff(cr.entity_type, adapter, before, proposed)
        if not diff and not cr.changes.get(PIN_KEY):
            raise ChangeError(
                "Nothing left to change: the record already holds the proposed values. Withdraw the request."
            )
        cr.diff = diff
        cr.changes = {
            **{row["field"]: proposed[row["field"]] for row in diff},
            **({PIN_KEY: cr.changes[PIN_KEY]} if cr.changes.get(PIN_KEY) else {}),
        }
        if conflicts:
            note += f"; changed by someone else meanwhile: {', '.join(conflicts)}"
        _policy(cr, adapter)
    elif cr.kind == Kind.MERGE:
        merged = _golden(spec, cr.changes["merged_id"], lock=True)
        cr.changes = {**cr.changes, "merged_version": merged.version}
    cr.base_version = obj.version
    cr.save()
    voided = cr.approvals.filter(void=False).update(void=True)
    if voided:
        note += f"; {voided} earlier approval(s) no longer count"
    ChangeComment.objects.create(change_request=cr, author=actor, text=note + ".")
    return cr


# --- retire, merge, unmerge -----------------------------------------------------------------------------------


@transaction.atomic
def retire_propose(
    *, entity_type: str, object_id: int, actor, reason: str, origin: str = Origin.STEWARD
) -> ChangeRequest:
    spec, adapter = stewardship(entity_type)
    _check_can_propose(actor, entity_type, origin)
    reason = _require_reason(reason)
    obj = _golden(spec, object_id)
    if obj.status == RecordStatus.RETIRED:
        raise ChangeError(f"{spec.label} {obj.pk} is already retired.")
    cr = ChangeRequest(
        correlation_id=current_correlation_id() or new_correlation_id(),
        entity_type=entity_type,
        object_id=obj.pk,
        kind=Kind.RETIRE,
        title=adapter.label(obj)[:255],
        changes={"status": RecordStatus.RETIRED},
        diff=[
            {"field": "status", "label": "Status", "old": obj.status, "new": RecordStatus.RETIRED, "sensitive": False}
        ],
        base_version=obj.version,
        reason=reason,
        requested_by=actor,
        origin=origin,
        **_scope(adapter, obj, adapter.snapshot(obj)),
    )
    _policy(cr, adapter)
    cr.save()
    _submit(cr, actor=actor)
    return cr


@transaction.atomic
def merge_propose(
    *,
    entity_type: str,
    survivor_id: int,
    merged_id: int,
    actor,
    reason: str,
    candidate: MatchCandidate | None = None,
    field_values: dict | None = None,
    origin: str = Origin.STEWARD,
) -> ChangeRequest:
    """Propose merging ``merged_id`` into ``survivor_id`` (submitted at once).

    ``field_values`` optionally takes values over from the merged record into the survivor (validated like
    an update). From a match proposal (``candidate``) the pair is confirmed as a match and the proposal's
    explanation is kept as the request's evidence; a rejected or withdrawn merge reopens the proposal.
    """
    from mdm.services.matching import match_candidate_decide

    spec, adapter = stewardship(entity_type)
    _check_can_propose(actor, entity_type, origin)
    reason = _require_reason(reason)
    if int(survivor_id) == int(merged_id):
        raise ValidationError({"merged_id": ["A record cannot be merged into itself."]})
    survivor = _golden(spec, survivor_id)
    merged = _golden(spec, merged_id)
    for obj in (survivor, merged):
        if obj.status == RecordStatus.RETIRED:
            raise ChangeError(f"{spec.label} {obj.pk} is retired; only live records can be merged.")
    open_merge = ChangeRequest.objects.filter(
        entity_type=entity_type, kind=Kind.MERGE, status__in=ChangeRequest.OPEN_STATUSES
    ).filter(
        models.Q(object_id__in=[survivor.pk, merged.pk]) | models.Q(changes__merged_id__in=[survivor.pk, merged.pk])
    )
    existing = open_merge.first()
    if existing is not None:
        raise ChangeError(f"Change request #{existing.pk} already proposes a merge of one of these records.")
    before = adapter.snapshot(survivor)
    merged_snapshot = adapter.snapshot(merged)
    fields = adapter.validate(dict(field_values), survivor) if field_values else {}
    diff = [
        {
            "field": "merged_id",
            "label": "Merge",
            "old": f"#{merged.pk} {adapter.label(merged)}",
            "new": f"retired, merged into #{survivor.pk} {adapter.label(survivor)}",
            "sensitive": False,
        },
        *_diff(entity_type, adapter, before, fields),
    ]
    evidence = {}
    if candidate is not None:
        evidence = {"probability": candidate.probability, "band": candidate.band, "explanation": candidate.explanation}
    cr = ChangeRequest(
        correlation_id=current_correlation_id() or new_correlation_id(),
        entity_type=entity_type,
        object_id=survivor.pk,
        kind=Kind.MERGE,
        title=f"#{merged.pk} into #{survivor.pk} {adapter.label(survivor)}"[:255],
        changes={
            "merged_id": merged.pk,
            "merged_version": merged.version,
            "fields": {row["field"]: fields[row["field"]] for row in diff[1:]},
            "merged_snapshot": public_value(merged_snapshot),
        },
        diff=diff,
        base_version=survivor.version,
        reason=reason,
        requested_by=actor,
        origin=Origin.MATCH if candidate is not None else origin,
        match_candidate=candidate,
        evidence=evidence,
        **_scope(adapter, survivor, before),
    )
    _policy(cr, adapter)
    cr.save()
    if candidate is not None and candidate.status in (MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED):
        match_candidate_decide(candidate, decision="match", actor=actor, reason=reason)
    _submit(cr, actor=actor)
    return cr


def _active_merge(entity_type: str, merged_id: int) -> MergeRecord | None:
    return (
        MergeRecord.objects.filter(entity_type=entity_type, merged_id=merged_id, unmerged_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


@transaction.atomic
def unmerge_propose(
    *, entity_type: str, merged_id: int, actor, reason: str, origin: str = Origin.STEWARD
) -> ChangeRequest:
    """Propose undoing the merge that retired ``merged_id`` (it comes back with its links and references)."""
    spec, adapter = stewardship(entity_type)
    _check_can_propose(actor, entity_type, origin)
    reason = _require_reason(reason)
    merged = _golden(spec, merged_id)
    record = _active_merge(entity_type, merged.pk)
    if record is None:
        raise ChangeError(f"{spec.label} {merged.pk} was not merged into another record; there is nothing to unmerge.")
    existing = ChangeRequest.objects.filter(
        entity_type=entity_type, kind=Kind.UNMERGE, object_id=merged.pk, status__in=ChangeRequest.OPEN_STATUSES
    ).first()
    if existing is not None:
        raise ChangeError(f"Change request #{existing.pk} already proposes this unmerge.")
    links = sum(1 for move in record.moves if move.get("model") == "mdm.Crosswalk")
    holder = _chain_end(entity_type, record.survivor_id)
    cr = ChangeRequest(
        correlation_id=current_correlation_id() or new_correlation_id(),
        entity_type=entity_type,
        object_id=merged.pk,
        kind=Kind.UNMERGE,
        title=f"#{merged.pk} out of #{holder} {adapter.label(merged)}"[:255],
        changes={"merge_record_id": record.pk, "survivor_id": record.survivor_id},
        diff=[
            {
                "field": "status",
                "label": "Status",
                "old": merged.status,
                "new": record.merged_status,
                "sensitive": False,
            },
            {
                "field": "links",
                "label": "Linked source records",
                "old": f"{links} on #{holder}",
                "new": f"{links} back on #{merged.pk}",
                "sensitive": False,
            },
        ],
        base_version=merged.version,
        reason=reason,
        requested_by=actor,
        origin=origin,
        **_scope(adapter, merged, adapter.snapshot(merged)),
    )
    _policy(cr, adapter)
    cr.save()
    _submit(cr, actor=actor)
    return cr


def _chain(entity_type: str, survivor_id: int) -> list[int]:
    """The survivor and every record it was merged into since (B, then C when B went into C)."""
    chain = [survivor_id]
    while True:
        record = _active_merge(entity_type, chain[-1])
        if record is None or record.survivor_id in chain:
            return chain
        chain.append(record.survivor_id)


def _chain_end(entity_type: str, survivor_id: int) -> int:
    return _chain(entity_type, survivor_id)[-1]


def _stamp(instance, *, actor, reason):
    instance._history_user = actor
    instance._change_reason = reason


def _save_row(instance, *, actor, reason):
    if isinstance(instance, GoldenRecord):
        golden_save(instance, actor=actor, reason=reason)
    elif isinstance(instance, GoldenChild):
        golden_save_child(instance, actor=actor, reason=reason)
    else:
        _stamp(instance, actor=actor, reason=reason)
        instance.save()


def _apply_merge(cr: ChangeRequest, *, actor, reason: str) -> GoldenRecord:
    spec, adapter = stewardship(cr.entity_type)
    survivor = _golden(spec, cr.object_id, lock=True)
    merged = _golden(spec, cr.changes["merged_id"], lock=True)
    for obj in (survivor, merged):
        if obj.status == RecordStatus.RETIRED:
            raise ChangeError(f"{spec.label} {obj.pk} was retired since this merge was proposed.")
    model_label = spec.model_label
    moves: list[dict] = []

    fields = cr.changes.get("fields") or {}
    if fields:
        before = adapter.snapshot(survivor)
        adapter.update(survivor, fields, actor=actor, reason=reason)
        survivor.refresh_from_db()
        for field, value in fields.items():
            moves.append(
                {
                    "op": "field",
                    "model": model_label,
                    "pk": survivor.pk,
                    "field": field,
                    "old": before.get(field),
                    "new": value,
                }
            )

    now = timezone.now()
    for crosswalk in Crosswalk.objects.select_for_update().filter(entity_type=cr.entity_type, golden_id=merged.pk):
        moves.append(
            {
                "op": "update",
                "model": "mdm.Crosswalk",
                "pk": crosswalk.pk,
                "field": "golden_id",
                "old": merged.pk,
                "new": survivor.pk,
                "chain": True,
                "link_method": crosswalk.link_method,
                "match_score": crosswalk.match_score,
            }
        )
        crosswalk.golden_id = survivor.pk
        crosswalk.link_method = LinkMethod.MERGE
        crosswalk.linked_at = now
        crosswalk.linked_by = actor
        _stamp(crosswalk, actor=actor, reason=reason)
        crosswalk.save()

    # References from other golden records (contract prices -> item, contracts -> supplier) follow the survivor.
    for relation in spec.model._meta.related_objects:
        related = relation.related_model
        if relation.hidden or not relation.one_to_many or not issubclass(related, GoldenRecord):
            continue
        attname = relation.field.attname
        for row in related._default_manager.select_for_update().filter(**{attname: merged.pk}).order_by("pk"):
            label = f"{related._meta.app_label}.{related.__name__}"
            setattr(row, attname, survivor.pk)
            blocked = getattr(row, "merge_blocked", None)
            if row.status != RecordStatus.RETIRED and blocked is not None and blocked():
                # The survivor already has this row (the same price twice): retire the merged record's copy.
                setattr(row, attname, merged.pk)
                moves.append(
                    {
                        "op": "update",
                        "model": label,
                        "pk": row.pk,
                        "field": "status",
                        "old": row.status,
                        "new": RecordStatus.RETIRED,
                    }
                )
                row.status = RecordStatus.RETIRED
            else:
                moves.append(
                    {
                        "op": "update",
                        "model": label,
                        "pk": row.pk,
                        "field": attname,
                        "old": merged.pk,
                        "new": survivor.pk,
                        "chain": True,
                    }
                )
            golden_save(row, actor=actor, reason=reason)

    if adapter.merge_children is not None:
        moves.extend(adapter.merge_children(survivor, merged, actor=actor, reason=reason) or [])

    merged.refresh_from_db()
    merged_status = merged.status
    moves.append(
        {
            "op": "update",
            "model": model_label,
            "pk": merged.pk,
            "field": "status",
            "old": merged_status,
            "new": RecordStatus.RETIRED,
        }
    )
    merged.status = RecordStatus.RETIRED
    golden_save(merged, actor=actor, reason=reason)

    MatchCandidate.objects.filter(
        entity_type=cr.entity_type, status__in=[MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED]
    ).filter(models.Q(left_ref=f"g:{merged.pk}") | models.Q(right_ref=f"g:{merged.pk}")).update(
        status=MatchCandidate.Status.SUPERSEDED, updated_at=now
    )
    MergeRecord.objects.create(
        entity_type=cr.entity_type,
        survivor_id=survivor.pk,
        merged_id=merged.pk,
        merged_status=merged_status,
        moves=moves,
        change_request=cr,
    )
    survivor.refresh_from_db()
    return survivor


def _apply_unmerge(cr: ChangeRequest, *, actor, reason: str) -> GoldenRecord:
    from mdm.services.matching import match_decision_record

    spec, adapter = stewardship(cr.entity_type)
    record = MergeRecord.objects.select_for_update().get(pk=cr.changes["merge_record_id"])
    if record.unmerged_at is not None:
        raise ChangeError(f"This merge was already undone by change request #{record.unmerge_request_id}.")
    chain = set(_chain(cr.entity_type, record.survivor_id))
    skipped = []
    for move in reversed(record.moves):
        model = apps.get_model(move["model"])
        row = model._default_manager.filter(pk=move["pk"]).first()
        if move["op"] == "create":
            if row is not None:
                _stamp(row, actor=actor, reason=reason)
                row.delete()
            continue
        if row is None:
            skipped.append({**move, "why": "row no longer exists"})
            continue
        if move["op"] == "field":
            current = adapter.snapshot(row).get(move["field"])
            if same_value(current, move["new"]):
                adapter.update(row, {move["field"]: move["old"]}, actor=actor, reason=reason)
            else:
                skipped.append({**move, "why": "changed since the merge", "current": public_value(current)})
            continue
        current = getattr(row, move["field"])
        if not (current in chain if move.get("chain") else current == move["new"]):
            skipped.append({**move, "why": "changed since the merge", "current": current})
            continue
        setattr(row, move["field"], move["old"])
        if move["model"] == "mdm.Crosswalk":
            row.link_method = move.get("link_method") or row.link_method
            row.match_score = move.get("match_score")
            row.linked_at = timezone.now()
            row.linked_by = actor
        _save_row(row, actor=actor, reason=reason)
    record.unmerged_at = timezone.now()
    record.unmerge_request = cr
    record.save(update_fields=["unmerged_at", "unmerge_request"])
    # The two records are different things: never propose them as duplicates again.
    match_decision_record(
        entity_type=cr.entity_type,
        left_ref=f"g:{record.merged_id}",
        right_ref=f"g:{record.survivor_id}",
        is_match=False,
        actor=actor,
        reason=reason,
    )
    if skipped:
        cr.evidence = {**cr.evidence, "skipped": skipped}
    return _golden(spec, record.merged_id)


# --- applying -------------------------------------------------------------------------------------------------


def _apply(cr: ChangeRequest, *, actor, auto: bool = False) -> None:
    """Write the change, the lineage, the request's outcome and the decision log, in the caller's transaction.

    Golden records saved here carry the request's correlation id and number into their outbox events.
    """
    merged = cr.changes.get("merged_id") if cr.kind == Kind.MERGE else None
    context = ChangeContext(
        change_request_id=cr.pk,
        kind=cr.kind,
        entity_type=cr.entity_type,
        merged_id=merged,
        survivor_id=cr.object_id if merged else None,
    )
    with bound(correlation=cr.correlation_id or current_correlation_id(), change_context=context):
        _apply_bound(cr, actor=actor, auto=auto)


def _apply_bound(cr: ChangeRequest, *, actor, auto: bool) -> None:
    spec, adapter = stewardship(cr.entity_type)
    approvers = list(
        cr.approvals.filter(decision=ChangeApproval.Decision.APPROVE, void=False).values_list(
            "actor__username", flat=True
        )
    )
    by = "policy (auto-approved)" if auto else ", ".join(approvers)
    reason = f"{cr.reason} [change request #{cr.pk}, approved by {by}]"
    history_user = cr.requested_by or actor
    _check_base(cr, lock=True)
    changes = {key: value for key, value in (cr.changes or {}).items() if key != PIN_KEY}
    if cr.kind == Kind.CREATE:
        obj = adapter.create(changes, actor=history_user, reason=reason)
        cr.object_id = obj.pk
    elif cr.kind == Kind.UPDATE:
        obj = _golden(spec, cr.object_id, lock=True)
        if changes:
            adapter.update(obj, changes, actor=history_user, reason=reason)
    elif cr.kind == Kind.RETIRE:
        obj = _golden(spec, cr.object_id, lock=True)
        obj.status = RecordStatus.RETIRED
        golden_save(obj, actor=history_user, reason=reason)
    elif cr.kind == Kind.MERGE:
        obj = _apply_merge(cr, actor=history_user, reason=reason)
    elif cr.kind == Kind.UNMERGE:
        obj = _apply_unmerge(cr, actor=history_user, reason=reason)
    else:  # pragma: no cover - the model's choices
        raise ChangeError(f"Unknown change kind {cr.kind!r}.")
    obj.refresh_from_db()
    _record_lineage(cr, changes)
    for field in cr.changes.get(PIN_KEY) or ():
        PinnedValue.objects.update_or_create(
            entity_type=cr.entity_type,
            object_id=obj.pk,
            field=field,
            defaults={"value": changes.get(field), "pinned_by": cr.requested_by, "change_request": cr},
        )
    cr.status = Status.APPLIED
    cr.applied_at = timezone.now()
    cr.applied_version = obj.version
    cr.save()
    _log(
        cr,
        action=DecisionLog.Action.AUTO_APPLIED if auto else DecisionLog.Action.APPLIED,
        actor=actor,
        reason=cr.reason,
        approvers=approvers,
    )


def _record_lineage(cr: ChangeRequest, changes: dict) -> None:
    if cr.kind not in (Kind.CREATE, Kind.UPDATE, Kind.MERGE):
        return
    fields = changes.get("fields", {}) if cr.kind == Kind.MERGE else changes
    if not fields:
        return
    lineage, _ = GoldenLineage.objects.get_or_create(entity_type=cr.entity_type, object_id=cr.object_id)
    at = timezone.now().isoformat()
    survived = (cr.evidence or {}).get("lineage") or {}
    for field in fields:
        if field in survived:
            lineage.fields[field] = {**survived[field], "change_request": cr.pk, "at": at}
        elif cr.origin == Origin.SURVIVORSHIP and cr.source_record is not None:
            lineage.fields[field] = {
                "source": f"{cr.source_record.system.name}:{cr.source_record.external_id}",
                "system": cr.source_record.system.name,
                "rule": "survivorship",
                "change_request": cr.pk,
                "at": at,
            }
        else:
            lineage.fields[field] = {
                "source": "steward",
                "by": _username(cr.requested_by),
                "rule": "pinned" if field in (cr.changes.get(PIN_KEY) or ()) else "steward edit",
                "change_request": cr.pk,
                "at": at,
            }
    lineage.save()


def summarize(cr: ChangeRequest) -> str:
    if cr.kind == Kind.MERGE:
        return f"Merged {cr.entity_type} #{cr.changes.get('merged_id')} into #{cr.object_id}"
    if cr.kind == Kind.UNMERGE:
        return f"Unmerged {cr.entity_type} #{cr.object_id} from #{cr.changes.get('survivor_id')}"
    if cr.kind == Kind.RETIRE:
        return f"Retired {cr.entity_type} #{cr.object_id}"
    fields = ", ".join(row["label"] for row in cr.diff) or "pinned values"
    verb = "Created" if cr.kind == Kind.CREATE else "Changed"
    return f"{verb} {cr.entity_type} #{cr.object_id or '(new)'}: {fields}"


def _log(cr: ChangeRequest, *, action: str, actor, reason: str = "", approvers=None) -> DecisionLog:
    return DecisionLog.objects.create(
        action=action,
        actor=actor,
        entity_type=cr.entity_type,
        object_id=cr.object_id,
        kind=cr.kind,
        summary=summarize(cr),
        reason=reason,
        requested_by=_username(cr.requested_by) or cr.get_origin_display(),
        approvers=approvers or [],
        golden_version=cr.applied_version,
        change_request=cr,
        match_candidate_id=cr.match_candidate_id,
        evidence=cr.evidence or {},
        correlation_id=cr.correlation_id,
    )
