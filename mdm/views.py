"""Steward UI entry pages (the full UI lives in the stewardship work) and error pages."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render

from mdm import registry
from mdm.models import (
    ChangeRequest,
    DecisionLog,
    IngestBatch,
    MatchCandidate,
    MatchRun,
    QuarantinedRecord,
    SourceSystem,
    StewardTask,
)
from mdm.selectors import (
    change_requests_awaiting,
    change_requests_breaching_sla,
    change_requests_for,
    match_reviews_breaching_sla,
)


@login_required
def home(request):
    """Dashboard: my inbox (change requests and match reviews, SLA breaches, recent decisions), golden-record
    counts per entity, work waiting for stewards, recent ingest batches and match runs."""
    entities = []
    for spec in registry.all_specs():
        model = spec.model
        if not request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
            continue
        if spec.stewardship is not None:
            url = f"/search/?type={spec.entity_type}"  # the steward UI's search and record pages
        elif request.user.is_staff:
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        else:
            url = f"/api/v1/{spec.api_path}/"  # people without admin access browse the API list instead
        entities.append(
            {
                "label": spec.label,
                "entity_type": spec.entity_type,
                "active": model.objects.filter(status="active").count(),
                "url": url,
            }
        )
    context = {
        "inbox": _inbox(request.user),
        "entities": entities,
        "systems": SourceSystem.objects.all(),
        "batches": IngestBatch.objects.select_related("system", "actor")[:10],
        "quarantine_open": QuarantinedRecord.objects.filter(status=QuarantinedRecord.Status.OPEN).count(),
        "quarantine_url": "/admin/mdm/quarantinedrecord/?status__exact=open"
        if request.user.is_staff
        else "/api/v1/quarantine/?status=open",
        "proposals_open": MatchCandidate.objects.filter(status=MatchCandidate.Status.OPEN).count(),
        "proposals_url": "/admin/mdm/matchcandidate/?status__exact=open"
        if request.user.is_staff
        else "/api/v1/match/candidates/?status=open",
        "tasks_open": StewardTask.objects.filter(status=StewardTask.Status.OPEN).count(),
        "tasks_url": "/admin/mdm/stewardtask/?status__exact=open" if request.user.is_staff else "",
        # proposals a run left for stewards: the review band, and duplicate golden records even in the match band
        "runs": MatchRun.objects.select_related("actor").annotate(proposals=Count("candidates"))[:5],
    }
    return render(request, "mdm/home.html", context)


def _inbox(user) -> dict:
    """The signed-in person's work: requests waiting for them, their own open requests, reviews, SLA breaches."""
    inbox = {}
    if user.has_perm("mdm.view_changerequest"):
        readable = change_requests_for(user)
        inbox["awaiting"] = change_requests_awaiting(user).count()
        inbox["can_approve"] = user.has_perm("mdm.approve_changerequest")
        inbox["mine_open"] = readable.filter(requested_by=user, status__in=ChangeRequest.OPEN_STATUSES).count()
        inbox["changes_late"] = change_requests_breaching_sla(readable).count()
        inbox["sla_hours"] = settings.MDM_CHANGE_SLA_HOURS
    if user.has_perm("mdm.view_matchcandidate"):
        by_priority = dict(
            MatchCandidate.objects.filter(status=MatchCandidate.Status.OPEN)
            .values_list("priority")
            .annotate(n=Count("id"))
            .order_by()
        )
        inbox["reviews"] = {
            "high": by_priority.get(1, 0),
            "normal": by_priority.get(2, 0),
            "low": sum(n for priority, n in by_priority.items() if priority not in (1, 2)),
            "total": sum(by_priority.values()),
        }
        inbox["reviews_late"] = match_reviews_breaching_sla().count()
        inbox["review_sla_days"] = settings.MDM_REVIEW_SLA_DAYS
    if inbox:
        inbox["sla_total"] = inbox.get("changes_late", 0) + inbox.get("reviews_late", 0)
    if user.has_perm("mdm.view_decisionlog"):
        inbox["decisions"] = list(DecisionLog.objects.select_related("actor")[:5])
    return inbox


def healthz(request):
    """Liveness and database reachability for load balancers and the process supervisor."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def _wants_json(request):
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return render(request, "404.html", {"path": request.path}, status=404)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            {
                "detail": "Internal server error; nothing was written. The error has been logged.",
                "code": "server_error",
            },
            status=500,
        )
    return render(request, "500.html", status=500)
