"""Operations pages for syndication: targets at a glance, deliveries, one delivery, one target; replay and checks.

Reads go through ``sync.selectors`` (the API uses the same ones); every write is one call into
``sync.services`` and redirects back with a flash message (post/redirect/get), so the pages work without
JavaScript. Viewing needs ``sync.view_delivery``; replaying ``sync.replay_delivery``; checking a target's
connection ``sync.change_target``. A missing permission renders the 403 page with the reason.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from mdm import registry
from sync import selectors
from sync.forms import ReplaySinceForm, published_entity_types
from sync.models import Delivery, Target
from sync.services import deliveries_replay, deliveries_replay_dead, deliveries_replay_since, target_check

PAGE_SIZE = 50
VIEW_PERM = "sync.view_delivery"
REPLAY_PERM = "sync.replay_delivery"
CHECK_PERM = "sync.change_target"
# What can be sent again (a delivery being sent, or already waiting, cannot): the services' list.
REPLAYABLE = (Delivery.Status.DEAD, Delivery.Status.FAILED, Delivery.Status.DELIVERED, Delivery.Status.SUPERSEDED)


def ops_page(view):
    """Login required; a missing permission renders the operations 403 page with the reason."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            message = str(exc) or "You do not have permission to do this."
            return render(request, "sync/403.html", {"message": message}, status=403)

    return wrapped


def _require(request, perm: str, message: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(message)


def _may_view(request) -> None:
    _require(request, VIEW_PERM, "The operations pages need the operations role (sync.view_delivery).")


def age_text(seconds) -> str:
    """``95`` -> ``1 min``; ``7500`` -> ``2 h 5 min``; ``200000`` -> ``2 d 7 h``."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours < 1:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} d {hours % 24} h"


def record_link(entity_type: str, object_id) -> str:
    """The steward UI's record page, for entity types that have one ('' otherwise)."""
    try:
        spec = registry.get(entity_type)
    except KeyError:
        return ""
    if spec.stewardship is None:
        return ""
    try:
        return reverse("record-detail", args=[entity_type, object_id])
    except NoReverseMatch:
        return ""


def _can(request) -> dict:
    return {"can_replay": request.user.has_perm(REPLAY_PERM), "can_check": request.user.has_perm(CHECK_PERM)}


def _since_default() -> str:
    return timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def _with_ages(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["oldest_pending_age"] = age_text(row["oldest_pending_age_seconds"])
    return rows


def _run_figures(run) -> str:
    """Flat figures as "checked 12 · drifted 1"; per-model figures (pulls) as "res.partner: fetched 3, stored 3"."""
    parts = []
    for key, value in (run.figures or {}).items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items() if v)
            parts.append(f"{key}: {inner or 'nothing new'}")
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(parts)


def _runs(runs) -> list[dict]:
    return [
        {"run": run, "figures": _run_figures(run), "error": selectors.redacted(run.error, run.target)} for run in runs
    ]


def _with_errors(deliveries) -> list[Delivery]:
    """Each delivery's last error as it may be shown (``shown_error``); the target is loaded with the row."""
    deliveries = list(deliveries)
    for delivery in deliveries:
        delivery.shown_error = selectors.redacted(delivery.last_error, delivery.target)
    return deliveries


# --- pages ----------------------------------------------------------------------------------------------------


@ops_page
@require_GET
def operations(request):
    """Every target's figures (red when it has dead letters or its oldest pending delivery waits > 15 min), the
    outbox backlog and the latest pull / reconciliation runs, with the replay and check buttons."""
    _may_view(request)
    rows = _with_ages(selectors.target_overview())
    totals = selectors.overview_totals(rows)
    backlog = selectors.outbox_backlog()
    runs = selectors.recent_runs()
    context = {
        "rows": rows,
        "totals": totals,
        "oldest_pending_age": age_text(totals["oldest_pending_age_seconds"]),
        "backlog": backlog,
        "backlog_age": age_text(backlog["oldest_age_seconds"]),
        "runs": _runs(runs),
        "since_default": _since_default(),
        "stale_minutes": int(selectors.STALE_AFTER.total_seconds() // 60),
        "now": timezone.now(),
        **_can(request),
    }
    return render(request, "sync/operations.html", context)


FILTER_NAMES = (
    "target",
    "status",
    "entity_type",
    "object_id",
    "correlation_id",
    "created_since",
    "created_until",
    "error",
)


@ops_page
@require_GET
def delivery_list(request):
    """Deliveries, newest first, with the filters the API has (``sync.selectors.DeliveryFilterSet``), 50 a page."""
    _may_view(request)
    errors = {}
    try:
        qs = selectors.deliveries_filtered(request.GET)
    except ValidationError as exc:
        errors = exc.message_dict
        qs = Delivery.objects.none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(request.GET.get(name) for name in FILTER_NAMES)
    statuses = request.GET.getlist("status")
    context = {
        "page": page,
        "rows": _with_errors(page.object_list),
        "errors": errors,
        "filtered": filtered,
        "values": {name: request.GET.get(name, "") for name in FILTER_NAMES},
        "statuses": [(value, label, value in statuses) for value, label in Delivery.Status.choices],
        "targets": list(Target.objects.order_by("name").values_list("pk", "name")),
        "entity_types": [(name, registry.get(name).label) for name in published_entity_types()],
        "only_dead": statuses == [Delivery.Status.DEAD],
        **_can(request),
    }
    return render(request, "sync/delivery_list.html", context)


@ops_page
@require_GET
def delivery_detail(request, pk):
    """One delivery: its event and payload (bank numbers as last four), what was sent and answered, its error and
    attempts, the record's key at the target, its other versions there and its history at every target."""
    _may_view(request)
    delivery = get_object_or_404(Delivery.objects.select_related("target", "event", "replayed_by"), pk=pk)
    target = delivery.target
    timeline = selectors.delivery_timeline(delivery.entity_type, delivery.object_id)
    context = {
        "d": delivery,
        "target": target,
        "event": delivery.event,
        "payload": json.dumps(selectors.masked_payload(delivery.event), indent=2, ensure_ascii=False, default=str),
        "request_excerpt": selectors.redacted(delivery.request_excerpt, target),
        "response_excerpt": selectors.redacted(delivery.response_excerpt, target),
        "last_error": selectors.redacted(delivery.last_error, target),
        "key": selectors.delivery_key(delivery),
        "versions": selectors.delivery_versions(delivery),
        "timeline": timeline,
        "record_url": record_link(delivery.entity_type, delivery.object_id),
        "is_open": delivery.status in (Delivery.Status.PENDING, Delivery.Status.FAILED),
        "replayable": delivery.status in REPLAYABLE,
        "now": timezone.now(),
        **_can(request),
    }
    return render(request, "sync/delivery.html", context)


@ops_page
@require_GET
def target_detail(request, pk):
    """One target: its settings (never the secret), subscriptions and filters, figures, deliveries by entity
    type and status, inbound watermarks, its runs and latest deliveries."""
    _may_view(request)
    target = get_object_or_404(Target.objects.select_related("source_system"), pk=pk)
    row = _with_ages(selectors.target_overview([target]))[0]
    recent = _with_errors(selectors.deliveries_list_queryset().filter(target=target)[:25])
    context = {
        "target": target,
        "row": row,
        "has_secret": bool(target.secret),
        "subscriptions": [
            {"sub": sub, "filters": json.dumps(sub.filters, ensure_ascii=False) if sub.filters else ""}
            for sub in target.subscriptions.order_by("entity_type")
        ],
        "counts": [
            {**row_, "cells": [(value, row_.get(value, 0)) for value, _ in Delivery.Status.choices]}
            for row_ in selectors.delivery_counts(target)
        ],
        "locked_until": target.lock_until if target.lock_until and target.lock_until > timezone.now() else None,
        "statuses": Delivery.Status.choices,
        "watermarks": [
            {"w": w, "error": selectors.redacted(w.last_error, target)} for w in target.watermarks.order_by("model")
        ],
        "runs": _runs(selectors.recent_runs(target)),
        "recent": recent,
        "since_default": _since_default(),
        "admin_url": reverse("admin:sync_target_change", args=[target.pk])
        if request.user.is_staff and request.user.has_perm("sync.change_target")
        else "",
        **_can(request),
    }
    return render(request, "sync/target.html", context)


# --- actions --------------------------------------------------------------------------------------------------


def _back(request, fallback: str):
    """Back to the page the form was on (``next``), or ``fallback``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@ops_page
@require_POST
def target_replay_dead(request, pk):
    """POST: every dead letter of the target back to the queue."""
    _require(request, REPLAY_PERM, "Replaying deliveries needs sync.replay_delivery (the operations role).")
    target = get_object_or_404(Target, pk=pk)
    count = deliveries_replay_dead(target, actor=request.user, request=request)
    if count:
        messages.success(request, f"{count} dead letter{'s' if count != 1 else ''} of {target} queued again.")
    else:
        messages.info(request, f"{target} has no dead letters to replay.")
    return _back(request, reverse("operations-target", args=[target.pk]))


@ops_page
@require_POST
def target_replay_since(request, pk):
    """POST ``since``: everything queued for the target since then, sent again (after the target was restored)."""
    _require(request, REPLAY_PERM, "Replaying deliveries needs sync.replay_delivery (the operations role).")
    target = get_object_or_404(Target, pk=pk)
    form = ReplaySinceForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(message for messages_ in form.errors.values() for message in messages_)
        messages.error(request, f"Nothing replayed: {problems}")
        return _back(request, reverse("operations-target", args=[target.pk]))
    since = form.cleaned_data["since"]
    count = deliveries_replay_since(target, since, actor=request.user, request=request)
    when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M")
    if count:
        messages.success(
            request, f"{count} deliver{'ies' if count != 1 else 'y'} to {target} since {when} queued again."
        )
    else:
        messages.info(request, f"Nothing to replay: no delivery to {target} was queued since {when}.")
    return _back(request, reverse("operations-target", args=[target.pk]))


@ops_page
@require_POST
def target_check_connection(request, pk):
    """POST: connect to the target and report what it is (Odoo: its version, stored on the target)."""
    _require(request, CHECK_PERM, "Checking a target's connection needs sync.change_target (the operations role).")
    target = get_object_or_404(Target, pk=pk)
    try:
        result = target_check(target)
    except Exception as exc:  # any failure is the answer the operator asked for
        messages.error(request, f"Could not connect to {target}: {selectors.redacted(str(exc), target)}")
    else:
        shown = ", ".join(
            f"{key.replace('_', ' ')} {value}" for key, value in (result or {}).items() if value not in (None, "")
        )
        messages.success(request, f"Connected to {target}{': ' + selectors.redacted(shown, target) if shown else '.'}")
    return _back(request, reverse("operations-target", args=[target.pk]))


@ops_page
@require_POST
def delivery_replay(request, pk):
    """POST: send this delivery again now (an older version than the target holds is skipped as superseded)."""
    _require(request, REPLAY_PERM, "Replaying deliveries needs sync.replay_delivery (the operations role).")
    delivery = get_object_or_404(Delivery, pk=pk)
    if deliveries_replay([delivery.pk], actor=request.user, request=request):
        messages.success(request, f"Delivery #{delivery.pk} queued again.")
    else:
        messages.warning(request, f"Delivery #{delivery.pk} is {delivery.get_status_display().lower()}: not replayed.")
    return _back(request, reverse("operations-delivery", args=[delivery.pk]))
