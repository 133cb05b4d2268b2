"""Who may read and change which records, and small helpers the record pages share."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from mdm import access as access_limits
from mdm import registry
from mdm.services import changes as svc


def _perm(spec, action: str) -> str:
    meta = spec.model._meta
    return f"{meta.app_label}.{action}_{meta.model_name}"


def can_view(user, spec) -> bool:
    return user.has_perm(_perm(spec, "view"))


def can_change(user, spec) -> bool:
    """Who sees the action buttons and may post to the action endpoints (stewards, approvers)."""
    return user.has_perm(_perm(spec, "change")) and svc.can_propose(user)


def entity_spec(entity_type: str):
    """The spec of a type stewards work on; 404 for an unknown type or one without a stewardship adapter."""
    try:
        spec = registry.get(entity_type)
    except KeyError:
        raise Http404(f"No entity type {entity_type!r}.") from None
    if spec.stewardship is None:
        raise Http404(f"{spec.label} records have no record pages.")
    return spec


def readable_spec(request, entity_type: str):
    spec = entity_spec(entity_type)
    if not can_view(request.user, spec):
        raise PermissionDenied(f"You may not read {spec.label.lower()} records.")
    return spec


def writable_spec(request, entity_type: str):
    spec = readable_spec(request, entity_type)
    if not can_change(request.user, spec):
        raise PermissionDenied(f"You may read {spec.label.lower()} records but not propose changes to them.")
    return spec


def get_record(spec, pk, user):
    """The live golden record; a 404 for a missing one and, alike, for one outside ``user``'s access limits."""
    records = access_limits.limit_queryset(user, spec.entity_type, spec.model._default_manager.all())
    try:
        return records.get(pk=pk)
    except spec.model.DoesNotExist:
        raise Http404(f"No {spec.label.lower()} #{pk}.") from None


def page_view(view):
    """Login required; a missing permission renders the UI's 403 page (with the reason) instead of a bare 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            message = str(exc) or "You do not have permission to do this."
            return render(request, "mdm/records/403.html", {"message": message}, status=403)

    return wrapped


def record_url(entity_type: str, pk) -> str:
    return reverse("record-detail", args=[entity_type, pk])


def change_url(pk: int) -> str:
    return reverse("change-detail", args=[pk])


def scalar_fields(spec) -> list[tuple[str, object]]:
    """The adapter's fields that are columns of the golden model (child collections are edited elsewhere)."""
    out = []
    for name in spec.stewardship.fields:
        try:
            field = spec.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.concrete and not field.many_to_many:
            out.append((name, field))
    return out


def shown(value) -> str:
    """A snapshot value as text for the fields table."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(shown(item) for item in value)
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if key in ("id", "fingerprint") or key.endswith("_encrypted") or item in (None, "", []):
                continue
            parts.append(f"{key.replace('_', ' ')} {shown(item)}")
        return ", ".join(parts)
    return str(value)
