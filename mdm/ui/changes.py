"""Steward UI: the change-request list, a change request's page with its decisions, and the decisions CSV.

Every read goes through the permission-filtered selectors (``change_requests_for``, ``change_requests_awaiting``)
the API also uses; every write calls one service in ``mdm.services.changes`` and redirects back with a flash
message (post/redirect/get), so the pages work without JavaScript. htmx only swaps the page's panel in place.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from mdm import registry
from mdm.access import limit_references
from mdm.exports import decision_csv_rows
from mdm.models import DecisionLog
from mdm.models.changes import ChangeRequest
from mdm.selectors import change_requests_awaiting, change_requests_for
from mdm.services import changes as svc

PAGE_SIZE = 25
TABS = {"awaiting": "Waiting for me", "mine": "Mine", "open": "All open", "all": "All"}
EMPTY = {
    "awaiting": "Nothing is waiting for you: no submitted request in your approval scopes needs your decision.",
    "mine": "You have not requested any change yet. Propose one from a record's page or from the review inbox.",
    "open": "No open change requests.",
    "all": "No change requests yet.",
}
VIEWER_NOTE = "You can read change requests; stewards propose changes and approvers decide them."
ACTIONS = ("approve", "reject", "withdraw", "submit", "rebase", "comment")


def record_url(entity_type: str, pk) -> str:
    """The record page of a golden record (``/records/<entity_type>/<pk>/``)."""
    if pk is None:
        return ""
    try:
        return reverse("record-detail", args=[entity_type, pk])
    except NoReverseMatch:  # the records pages are not mounted (yet): the path is part of the contract
        return f"/records/{entity_type}/{pk}/"


def _may_act(user) -> bool:
    """People who may do anything on a change request (propose, comment, approve); viewers may not."""
    return svc.can_propose(user) or user.has_perm("mdm.approve_changerequest")


# --- values as HTML -------------------------------------------------------------------------------------------


EMPTY_VALUE = mark_safe('<span class="missing">(empty)</span>')  # noqa: S308 - a constant


def _canonical(value) -> str:
    return json.dumps(svc.public_value(value), sort_keys=True, default=str)


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_scalar(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_scalar(item)}" for key, item in value.items())
    return str(value)


def _entry_html(entry) -> str:
    """One row of a child collection (a bank account, an address): ``key value · key value``."""
    if not isinstance(entry, dict):
        return format_html("{}", _scalar(entry))
    shown = [
        # A flag reads as its name when set ("is primary") and is left out when not.
        (str(key).replace("_", " "), "" if value is True else _scalar(value))
        for key, value in entry.items()
        if not _empty(value) and value is not False
    ]
    if not shown:
        return EMPTY_VALUE
    return format_html_join(" · ", '<span class="key">{}</span> {}', shown)


def value_html(value, other=None, *, marker: str = "") -> str:
    """A diff value shown readably; entries of a list missing from ``other`` get the ``marker`` class."""
    if _empty(value):
        return EMPTY_VALUE
    if isinstance(value, list):
        others = {_canonical(item) for item in other} if isinstance(other, list) else None
        rows = [
            (marker if others is not None and marker and _canonical(entry) not in others else "", _entry_html(entry))
            for entry in value
        ]
        return format_html('<ul class="entries">{}</ul>', format_html_join("", '<li class="{}">{}</li>', rows))
    if isinstance(value, dict):
        return _entry_html(value)
    return format_html("{}", _scalar(value))


def _diff_rows(cr: ChangeRequest) -> list[dict]:
    return [
        {
            "label": row.get("label") or row.get("field"),
            "field": row.get("field"),
            "sensitive": bool(row.get("sensitive")),
            "old": value_html(row.get("old"), row.get("new"), marker="removed"),
            "new": value_html(row.get("new"), row.get("old"), marker="added"),
        }
        for row in cr.diff or []
    ]


def _merge_sides(cr: ChangeRequest, adapter, survivor) -> list[dict]:
    """Survivor (now) and merged record (as proposed) field by field, differences marked."""
    merged = (cr.changes or {}).get("merged_snapshot") or {}
    current = svc.public_value(adapter.snapshot(survivor)) if survivor is not None else {}
    taken = set((cr.changes or {}).get("fields") or {})
    rows = []
    for field in adapter.fields:
        left, right = current.get(field), merged.get(field)
        if _empty(left) and _empty(right):
            continue
        css = "same" if svc.same_value(left, right) else ("missing" if _empty(left) or _empty(right) else "diff")
        rows.append(
            {
                "label": svc.field_label(cr.entity_type, field),
                "css": css,
                "taken": field in taken,
                "survivor": value_html(left, right, marker="removed"),
                "merged": value_html(right, left, marker="added"),
            }
        )
    return rows


def _evidence(cr: ChangeRequest) -> dict | None:
    evidence = cr.evidence or {}
    explanation = evidence.get("explanation")
    if not isinstance(explanation, dict) or not explanation.get("fields"):
        return None
    fields = [
        {
            "field": str(row.get("field", "")).replace("_", " "),
            "left": value_html(row.get("left")),
            "right": value_html(row.get("right")),
            "label": row.get("label", ""),
            "weight": row.get("weight"),
        }
        for row in explanation["fields"]
    ]
    candidate = cr.match_candidate
    roles = {f"g:{cr.object_id}": "survivor", f"g:{(cr.changes or {}).get('merged_id')}": "merged"}

    def side(ref: str) -> str:
        shown = f"#{ref[2:]}" if ref.startswith("g:") else ref
        return f"{shown} ({roles[ref]})" if ref in roles and cr.kind == ChangeRequest.Kind.MERGE else shown

    return {
        "probability": evidence.get("probability", explanation.get("probability")),
        "band": evidence.get("band", explanation.get("band", "")),
        "prior_weight": explanation.get("prior_weight"),
        "match_weight": explanation.get("match_weight"),
        "left": side(candidate.left_ref) if candidate else "left",
        "right": side(candidate.right_ref) if candidate else "right",
        "fields": fields,
    }


# --- pages ----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def change_list(request):
    """Change requests by tab (waiting for me, mine, all open, all) and filters, 25 a page."""
    user = request.user
    if not user.has_perm("mdm.view_changerequest"):
        raise PermissionDenied("You may not read change requests.")
    decides = user.has_perm("mdm.approve_changerequest") and not svc.is_service_account(user)
    default = "awaiting" if decides else "open"
    tab = request.GET.get("tab") or default
    if tab not in TABS:
        tab = default
    awaiting = change_requests_awaiting(user)
    if tab == "awaiting":
        qs = awaiting.order_by("submitted_at", "id")  # a queue: the longest waiting first
    else:
        qs = change_requests_for(user).order_by("-created_at", "-id")  # Meta.ordering is dropped with GROUP BY
        if tab == "mine":
            qs = qs.filter(requested_by=user)
        elif tab == "open":
            qs = qs.filter(status__in=ChangeRequest.OPEN_STATUSES)
    choices = {
        "entity_type": [(key, registry.get(key).label) for key in registry.entity_types()],
        "kind": ChangeRequest.Kind.choices,
        "status": ChangeRequest.Status.choices,
    }
    selected = {}
    for name, options in choices.items():
        value = request.GET.get(name, "")
        if value in {key for key, _ in options}:
            qs = qs.filter(**{name: value})
            selected[name] = value
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": tab,
        "tabs": [(key, label) for key, label in TABS.items() if key != "awaiting" or decides],
        "awaiting_count": awaiting.count() if decides else 0,
        "page": page,
        "rows": [{"cr": cr, "url": record_url(cr.entity_type, cr.object_id)} for cr in page.object_list],
        "choices": choices,
        "selected": selected,
        "filtered": bool(selected),
        "empty": EMPTY[tab],
        "sla_limit": timezone.now() - timedelta(hours=settings.MDM_CHANGE_SLA_HOURS),
        "sla_hours": settings.MDM_CHANGE_SLA_HOURS,
        "can_export": user.has_perm("mdm.view_decisionlog"),
        "today": timezone.localdate(),
        "month_ago": timezone.localdate() - timedelta(days=30),
    }
    return render(request, "mdm/changes/list.html", context)


def _load(request, pk) -> ChangeRequest:
    if not request.user.has_perm("mdm.view_changerequest"):
        raise PermissionDenied("You may not read change requests.")
    qs = change_requests_for(request.user).select_related("source_record__system", "match_candidate")
    return get_object_or_404(qs, pk=pk)


def _detail_context(request, cr: ChangeRequest, *, errors=None, form=None) -> dict:
    user = request.user
    spec = registry.get(cr.entity_type)
    try:
        _, adapter = svc.stewardship(cr.entity_type)
    except svc.ChangeError:
        adapter = None
    manager = spec.model._default_manager
    record = manager.filter(pk=cr.object_id).first() if cr.object_id else None
    merged_id = (cr.changes or {}).get("merged_id") if cr.kind == ChangeRequest.Kind.MERGE else None
    merged = manager.filter(pk=merged_id).first() if merged_id else None

    stale = ""
    if (
        cr.status in (ChangeRequest.Status.DRAFT, ChangeRequest.Status.SUBMITTED)
        and cr.kind != ChangeRequest.Kind.CREATE
    ):
        if record is not None and cr.base_version is not None and record.version != cr.base_version:
            stale = f"{spec.label} #{record.pk} is now at version {record.version}; this request was made on version {cr.base_version}."
        merged_version = (cr.changes or {}).get("merged_version")
        if merged is not None and merged_version is not None and merged.version != merged_version:
            stale += f" The record to merge (#{merged.pk}) is now at version {merged.version}, not {merged_version}."

    allowed, why_not = svc.can_approve(user, cr)
    is_requester = cr.requested_by_id is not None and cr.requested_by_id == user.pk
    acts = _may_act(user)
    is_open = cr.status in (ChangeRequest.Status.DRAFT, ChangeRequest.Status.SUBMITTED)
    can_rebase = bool(stale) and (
        user.is_superuser or is_requester or cr.requested_by_id is None or svc.can_propose(user, cr.entity_type)
    )
    approvals = list(cr.approvals.select_related("actor"))
    return {
        "cr": cr,
        "spec": spec,
        "record": record,
        "record_url": record_url(cr.entity_type, cr.object_id),
        "record_label": adapter.label(record) if adapter is not None and record is not None else cr.title,
        "merged": merged,
        "merged_id": merged_id,
        "merged_url": record_url(cr.entity_type, merged_id),
        "diff_rows": _diff_rows(cr),
        "merge_rows": _merge_sides(cr, adapter, record) if merged_id and adapter is not None else [],
        "evidence": _evidence(cr),
        "approvals": approvals,
        "approvals_given": sum(1 for a in approvals if a.decision == "approve" and not a.void),
        "comments": list(cr.comments.select_related("author")),
        "stale": stale.strip(),
        "can_decide": allowed,
        "can_approve": allowed and not stale,
        "why_not": "" if allowed or cr.status != ChangeRequest.Status.SUBMITTED else (why_not if acts else VIEWER_NOTE),
        "can_withdraw": acts and is_open and (is_requester or user.is_superuser),
        "can_submit": acts and cr.status == ChangeRequest.Status.DRAFT and (is_requester or user.is_superuser),
        "can_rebase": acts and is_open and can_rebase,
        "can_comment": acts,
        # A refused form post: the messages, shown next to the form that was sent (``form.action``).
        "errors": [message for messages_ in (errors or {}).values() for message in messages_],
        "form": form or {},
        "skipped": (cr.evidence or {}).get("skipped") or [],
        "pins": (cr.changes or {}).get(svc.PIN_KEY) or [],
    }


@login_required
@require_GET
def change_detail(request, pk):
    """One change request: what changes (diff or both merged records), evidence, approvals, comments, actions."""
    cr = _load(request, pk)
    return render(request, "mdm/changes/detail.html", _detail_context(request, cr))


def _forbidden(request, cr, message: str):
    # htmx swaps only 2xx answers by default: an htmx post gets the message in the panel, a plain post a 403 page.
    status = 200 if request.htmx else 403
    return render(request, "mdm/changes/forbidden.html", {"cr": cr, "message": message}, status=status)


DONE = {
    "approve": "Approved.",
    "reject": "Rejected; the requester sees your reason.",
    "withdraw": "Withdrawn.",
    "submit": "Submitted: the approvers see it under “waiting for me”.",
    "rebase": "Rebased on the record's current version; earlier approvals no longer count.",
    "comment": "Comment added.",
}


@login_required
@require_POST
def change_action(request, pk, action):
    """POST /changes/<pk>/<action>/: call the service, then back to the page with a flash message."""
    cr = _load(request, pk)
    user = request.user
    if not _may_act(user):
        return _forbidden(request, cr, VIEWER_NOTE)
    reason = request.POST.get("reason", "")
    try:
        if action == "approve":
            cr = svc.change_request_approve(cr, actor=user, reason=reason)
        elif action == "reject":
            cr = svc.change_request_reject(cr, actor=user, reason=reason)
        elif action == "withdraw":
            cr = svc.change_request_withdraw(cr, actor=user, reason=reason)
        elif action == "submit":
            cr = svc.change_request_submit(cr, actor=user)
        elif action == "rebase":
            cr = svc.change_request_rebase(cr, actor=user)
        else:
            svc.change_request_comment(cr, actor=user, text=request.POST.get("text", ""))
    except svc.ChangePermissionError as exc:
        return _forbidden(request, cr, str(exc))
    except svc.ChangeError as exc:  # StaleBaseError included: the page shows the rebase button
        messages.error(request, str(exc))
        return redirect("change-detail", pk=cr.pk)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        cr.refresh_from_db()
        context = _detail_context(request, cr, errors=errors, form={"action": action, **request.POST.dict()})
        # htmx swaps only 2xx answers by default; a plain form post gets the honest status.
        return render(request, "mdm/changes/detail.html", context, status=200 if request.htmx else 400)
    message = DONE[action]
    if action == "approve" and cr.status == ChangeRequest.Status.APPLIED:
        message = f"Approved and applied: the record is now at version {cr.applied_version}."
    elif action == "approve":
        message = "Approved; the change needs another approver before it is applied."
    messages.success(request, message)
    return redirect("change-detail", pk=cr.pk)


# --- decisions export -----------------------------------------------------------------------------------------


def _day(request, name):
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"'{raw}' is not a date for '{name}': use YYYY-MM-DD.") from None


@login_required
@require_GET
def decisions_export(request):
    """The decision log as CSV, ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` inclusive (either may be left out).

    The rows are written by the API's export (``GET /api/v1/decisions/export/``), so both give the same file.
    """
    if not request.user.has_perm("mdm.view_decisionlog"):
        raise PermissionDenied("You may not read the decision log.")
    try:
        start, end = _day(request, "from"), _day(request, "to")
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if start and end and end < start:
        return HttpResponse(f"'to' ({end}) is before 'from' ({start}).", status=400, content_type="text/plain")
    qs = limit_references(request.user, DecisionLog.objects.select_related("actor")).order_by("created_at", "id")
    zone = timezone.get_current_timezone()
    if start:
        qs = qs.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end:
        qs = qs.filter(created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    response = StreamingHttpResponse(decision_csv_rows(qs), content_type="text/csv; charset=utf-8")
    name = f"decisions-{start or 'start'}-to-{end or timezone.localdate()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("changes/", change_list, name="change-list"),
    path("changes/<int:pk>/", change_detail, name="change-detail"),
    *[
        path(f"changes/<int:pk>/{action}/", change_action, {"action": action}, name=f"change-{action}")
        for action in ACTIONS
    ],
    path("decisions/export.csv", decisions_export, name="decisions-export"),
]
