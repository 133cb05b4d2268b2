"""The trace page (``/trace/``): one search box; the chain from source records to target ids as a timeline.

The box takes ``supplier:12`` / ``item 42`` (a golden record), ``CR-17`` or ``17`` (a change request), ``source:5``
(a source record) or a correlation id; links elsewhere fill it in with ``?q=``. The selector is ``sync.trace``;
what the user may not see is left out with a note. Login required; a user who may read neither golden records
nor deliveries gets the 403 page with the reason.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sync import trace as tracing
from sync.ui import ops_page, record_link


def _stages(subject: tracing.Subject) -> list[dict]:
    """The timeline's stages in the order a record travels."""
    return [
        {"key": "sources", "title": "Source records", "stage": subject.sources},
        {"key": "matches", "title": "Match decisions", "stage": subject.matches},
        {"key": "change_requests", "title": "Change requests", "stage": subject.change_requests},
        {"key": "versions", "title": "Golden record versions", "stage": subject.versions},
        {"key": "events", "title": "Outbox events", "stage": subject.events},
        {"key": "deliveries", "title": "Deliveries", "stage": subject.deliveries},
        {"key": "keys", "title": "Held at the targets", "stage": subject.keys},
    ]


@ops_page
@require_GET
def trace_page(request):
    """Search and show one chain (``?q=``; ``limit`` rows per stage, default 20)."""
    if not tracing.may_trace(request.user):
        raise PermissionDenied(
            "Tracing needs read access to golden records (e.g. the viewer role) or to deliveries (operations)."
        )
    text = request.GET.get("q", "").strip()
    context = {"q": text, "error": "", "result": None, "subjects": [], "accepted": tracing.ACCEPTED}
    try:
        limit = int(request.GET.get("limit") or tracing.DEFAULT_LIMIT)
    except ValueError:
        limit = tracing.DEFAULT_LIMIT
    if text:
        try:
            query = tracing.parse(text)
        except tracing.TraceQueryError as exc:
            context["error"] = str(exc)
        else:
            result = tracing.trace(query, user=request.user, limit=limit)
            context["result"] = result
            context["subjects"] = [
                {
                    "s": subject,
                    "record_url": record_link(subject.entity_type, subject.object_id),
                    "stages": _stages(subject),
                }
                for subject in result.subjects
            ]
            context["more_limit"] = min(tracing.MAX_LIMIT, max(limit, tracing.DEFAULT_LIMIT) * 5)
            context["can_see_more"] = limit < tracing.MAX_LIMIT
    return render(request, "sync/trace.html", context)
