"""Proposing changes: the edit and create forms (with duplicate suggestions while typing), retire and unmerge.

Each is a change request made by ``mdm.services.changes``; the record itself changes once it is approved, so
every form redirects to the new request's page.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mdm.choices import RecordStatus
from mdm.models import ChangeRequest
from mdm.services import changes as svc
from mdm.ui.records.access import (
    change_url,
    get_record,
    page_view,
    record_url,
    scalar_fields,
    shown,
    writable_spec,
)


def _form_field(spec, name: str, model_field) -> forms.Field:
    label = svc.field_label(spec.entity_type, name)
    if model_field.is_relation:  # a unit or other coded reference: typed as its code ("EA")
        return forms.CharField(
            label=label,
            required=not model_field.null,
            max_length=64,
            help_text=model_field.help_text or f"{model_field.related_model._meta.verbose_name.capitalize()} code.",
        )
    field = model_field.formfield(label=label)
    if field is None:
        return forms.CharField(label=label, required=False)
    if isinstance(field, forms.DateField):
        field.widget = forms.DateInput(attrs={"type": "date"})
    if isinstance(field, forms.CharField) and (model_field.max_length or 0) > 255:
        field.widget = forms.Textarea(attrs={"rows": 2})
    return field


class RecordForm(forms.Form):
    """The scalar fields of a golden record, a reason, and the version the steward saw."""

    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, spec, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.names = []
        for name, model_field in scalar_fields(spec):
            self.fields[name] = _form_field(spec, name, model_field)
            self.names.append(name)
        self.fields["reason"] = forms.CharField(
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text="Why is this change needed? The approver reads it and it stays in the record's history.",
        )

    def record_fields(self):
        return [self[name] for name in self.names]

    def values(self) -> dict:
        """The cleaned record fields as JSON-safe values (what the adapter's ``validate`` takes)."""
        return {name: _json_value(self.cleaned_data.get(name)) for name in self.names}


def _json_value(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _add_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError (keyed by field) onto the form: per field where the form has it."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for key, found in errors.items():
        if key in form.fields:
            form.add_error(key, found)
        elif key in ("__all__", "non_field_errors"):
            form.add_error(None, found)
        else:
            base = key.split("[")[0].split(".")[0]
            label = svc.field_label(form.spec.entity_type, base) if base in form.spec.stewardship.fields else key
            form.add_error(None, [f"{label} ({key}): {message}" for message in found])


def _snapshot_at(spec, obj, version) -> dict:
    """The record's values at ``version`` (what the steward's form was built from); the current ones otherwise."""
    if version is None or version == obj.version:
        return spec.stewardship.snapshot(obj)
    row = spec.model.history.filter(id=obj.pk, version=version).order_by("-history_date").first()
    return spec.stewardship.snapshot(row.instance if row is not None else obj)


def _propose(request, form, *, kind: str, obj=None):
    """Create the change request from a valid form; returns it, or None with errors added to the form."""
    spec = form.spec
    values = form.values()
    if obj is None:
        changes = {name: value for name, value in values.items() if value not in (None, "")}
    else:
        seen = form.cleaned_data.get("base_version")
        before = _snapshot_at(spec, obj, seen)
        changes = {name: value for name, value in values.items() if not svc.same_value(before.get(name), value)}
        if seen is not None and seen != obj.version:
            current = spec.stewardship.snapshot(obj)
            clashes = [name for name in changes if not svc.same_value(before.get(name), current.get(name))]
            if clashes:
                for name in clashes:
                    form.add_error(
                        name,
                        f"Changed by someone else since you opened the form (now '{shown(current.get(name))}'). "
                        "Check the value and save again.",
                    )
                data = form.data.copy()
                data["base_version"] = obj.version  # saving again is based on the version now shown
                form.data = data
                return None
        if not changes:
            form.add_error(None, "Nothing changed: every value equals the record's current value.")
            return None
    try:
        return svc.change_request_create(
            entity_type=spec.entity_type,
            kind=kind,
            changes=changes,
            object_id=obj.pk if obj is not None else None,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            origin=ChangeRequest.Origin.STEWARD,
        )
    except ValidationError as exc:
        _add_errors(form, exc)
    except svc.ChangeError as exc:
        form.add_error(None, str(exc))
    return None


@page_view
def record_edit(request, entity_type: str, pk: int):
    spec = writable_spec(request, entity_type)
    obj = get_record(spec, pk, request.user)
    if obj.status == RecordStatus.RETIRED:
        messages.error(request, f"{spec.label} #{obj.pk} is retired: unmerge it before proposing changes.")
        return redirect(record_url(entity_type, pk))
    if request.method == "POST":
        form = RecordForm(spec, request.POST)
        if form.is_valid():
            cr = _propose(request, form, kind=ChangeRequest.Kind.UPDATE, obj=obj)
            if cr is not None:
                messages.success(request, f"Change request #{cr.pk} created: {cr.get_status_display().lower()}.")
                return redirect(change_url(cr.pk))
    else:
        snapshot = spec.stewardship.snapshot(obj)
        form = RecordForm(spec, initial={**snapshot, "base_version": obj.version})
    context = {
        "spec": spec,
        "entity_type": entity_type,
        "obj": obj,
        "label": spec.stewardship.label(obj),
        "form": form,
        "mode": "edit",
    }
    return render(request, "mdm/records/form.html", context)


@page_view
def record_create(request, entity_type: str):
    spec = writable_spec(request, entity_type)
    suggestions = None
    check_only = False
    if request.method == "POST":
        form = RecordForm(spec, request.POST)
        if "check" in request.POST:  # "Check for duplicates" without JavaScript: suggestions, nothing saved
            check_only = True
            suggestions = _suggestions(spec, _raw_values(spec, request.POST))
        elif form.is_valid():
            cr = _propose(request, form, kind=ChangeRequest.Kind.CREATE)
            if cr is not None:
                messages.success(request, f"Change request #{cr.pk} created: {cr.get_status_display().lower()}.")
                return redirect(change_url(cr.pk))
    else:
        initial = {name: request.GET[name] for name, _ in scalar_fields(spec) if request.GET.get(name)}
        form = RecordForm(spec, initial=initial)
    context = {
        "spec": spec,
        "entity_type": entity_type,
        "form": form,
        "mode": "create",
        "suggestions": suggestions,
        "check_only": check_only,
    }
    return render(request, "mdm/records/form.html", context)


# --- duplicate suggestions ------------------------------------------------------------------------------------


def _raw_values(spec, data) -> dict:
    return {name: " ".join(str(data.get(name, "")).split()) for name, _ in scalar_fields(spec)}


def _match_row(spec, values: dict) -> dict:
    """The form's values as the row the entity's matcher reads (``MatchingAdapter.source_row``).

    Each value is normalized by the stewardship adapter when it is valid on its own (``36-1234567`` -> the
    stored EIN form); half-typed values stay as typed. ``source_row`` reads a standardized source payload,
    which names a few things without the golden ``_name`` suffix (``manufacturer`` for ``manufacturer_name``).
    """
    standardized = {}
    for name, value in values.items():
        if value in (None, ""):
            continue
        try:
            standardized.update(spec.stewardship.validate({name: value}, None))
        except (ValidationError, ValueError, TypeError, LookupError):
            standardized[name] = value
    for name, value in list(standardized.items()):
        if name.endswith("_name") and name[: -len("_name")] not in standardized:
            standardized[name[: -len("_name")]] = value
    return spec.matching.source_row(standardized)


def _suggestions(spec, values: dict) -> dict:
    """Likely duplicates of a record being typed: ``{"rows": [...], "asked": bool}``."""
    from mdm.services.matching import match_online

    if spec.matching is None or not any(values.values()):
        return {"rows": [], "asked": False}
    row = _match_row(spec, values)
    if not any(value for value in row.values()):
        return {"rows": [], "asked": False}
    rows = []
    for hit in match_online(spec.entity_type, row, top_k=5):
        rows.append(
            {
                "golden_id": hit["golden_id"],
                "display": hit["display"],
                "probability": hit["probability"],
                "percent": _percent(hit["probability"]),
                "band": hit["band"],
                "url": record_url(spec.entity_type, hit["golden_id"]),
            }
        )
    return {"rows": rows, "asked": True}


def _percent(probability: float) -> str:
    value = probability * 100
    return ">99.9%" if probability < 1 and value > 99.9 else f"{value:.1f}%"


@page_view
@require_POST
def record_suggest(request, entity_type: str):
    """htmx partial: likely duplicates of the record on the create form (``match_online`` over its values)."""
    spec = writable_spec(request, entity_type)
    context = {"spec": spec, "suggestions": _suggestions(spec, _raw_values(spec, request.POST))}
    return render(request, "mdm/records/_suggestions.html", context)


# --- retire, unmerge ------------------------------------------------------------------------------------------


def _action(request, entity_type: str, pk: int, propose, done: str):
    spec = writable_spec(request, entity_type)
    obj = get_record(spec, pk, request.user)
    try:
        cr = propose(spec, obj, request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except svc.ChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Change request #{cr.pk} {done}: it waits for approval.")
        return redirect(change_url(cr.pk))
    return redirect(record_url(entity_type, pk))


@page_view
@require_POST
def record_retire(request, entity_type: str, pk: int):
    def propose(spec, obj, reason):
        return svc.retire_propose(entity_type=spec.entity_type, object_id=obj.pk, actor=request.user, reason=reason)

    return _action(request, entity_type, pk, propose, "proposes retiring the record")


@page_view
@require_POST
def record_unmerge(request, entity_type: str, pk: int):
    def propose(spec, obj, reason):
        return svc.unmerge_propose(entity_type=spec.entity_type, merged_id=obj.pk, actor=request.user, reason=reason)

    return _action(request, entity_type, pk, propose, "proposes the unmerge")
