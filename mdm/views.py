"""Steward UI entry pages (the full UI lives in the stewardship work) and error pages."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render

from mdm import registry
from mdm.models import IngestBatch, MatchCandidate, MatchRun, QuarantinedRecord, SourceSystem, StewardTask


@login_required
def home(request):
    """Dashboard: golden-record counts per entity, work waiting for stewards, recent ingest batches and match runs."""
    entities = []
    for spec in registry.all_specs():
        model = spec.model
        if not request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
            continue
        entities.append(
            {
                "label": spec.label,
                "entity_type": spec.entity_type,
                "active": model.objects.filter(status="active").count(),
                # People without admin access (stewards, viewers) browse the API list instead.
                "url": f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
                if request.user.is_staff
                else f"/api/v1/{spec.api_path}/",
            }
        )
    context = {
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
