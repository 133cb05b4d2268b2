"""Steward UI: the match review inbox and the side-by-side compare of one proposal.

The inbox lists open and deferred ``MatchCandidate`` rows in the engine's order (priority, then probability);
the compare page lines the two records up field by field, as the engine's explanation saw them, with each
field's contribution in bits. A decision goes through ``match_candidate_decide`` (not a match, defer, link a
source record) or ``merge_propose`` (two golden records: a submitted merge change request), then the steward
lands on the next proposal. Every action is a plain form POST + redirect; htmx only swaps ``<main>``.
"""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_POST

from mdm import registry
from mdm.access import limit_references
from mdm.models import ChangeRequest, Crosswalk, MatchCandidate, SourceRecord
from mdm.selectors import golden_lineage

PAGE_SIZE = 25
PENDING = (MatchCandidate.Status.OPEN, MatchCandidate.Status.DEFERRED)
VIEW_PERM = "mdm.view_matchcandidate"
DECIDE_PERM = "mdm.change_matchcandidate"
FILTERS = ("entity_type", "kind", "band", "status")
DECISIONS = {"match", "distinct", "defer"}
INBOX_ORDER = ("priority", "-probability", "id")


# --- helpers -------------------------------------------------------------------------------------------------


def _url(name: str, fallback: str, *args) -> str:
    """``reverse`` when the page exists; the contract's path otherwise (another module may not be wired yet)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def record_url(entity_type: str, golden_id: int) -> str:
    return _url("record-detail", f"/records/{entity_type}/{golden_id}/", entity_type, golden_id)


def change_url(pk: int) -> str:
    return _url("change-detail", f"/changes/{pk}/", pk)


def percent(probability: float) -> str:
    """A probability as a percentage; never rounds a near-certain proposal up to a certain one."""
    value = probability * 100
    if probability < 1 and value > 99.9:
        return ">99.9%"
    return f"{value:.1f}%"


def _visible_entity_types(user) -> list:
    """Matched entity types whose golden records ``user`` may read (the labels show them)."""
    specs = []
    for spec in registry.all_specs():
        if spec.matching is None:
            continue
        meta = spec.model._meta
        if user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
            specs.append(spec)
    return specs


def _require_view(request):
    if not request.user.has_perm(VIEW_PERM):
        raise PermissionDenied("You may not see match proposals.")


def _filters(data, specs) -> dict:
    """The inbox filters from a query (or the decide form), unknown values dropped."""
    allowed = {
        "entity_type": {spec.entity_type for spec in specs},
        "kind": set(MatchCandidate.Kind.values),
        "band": set(MatchCandidate.Band.values),
        "status": set(PENDING),
    }
    return {name: data.get(name) for name in FILTERS if data.get(name) in allowed[name]}


def _pending(user, specs, filters: dict, *, without: str | None = None):
    qs = MatchCandidate.objects.filter(status__in=PENDING, entity_type__in=[spec.entity_type for spec in specs])
    # Proposals about golden records outside the user's access limits are not there for them (mdm.access).
    qs = limit_references(user, qs, id_fields=("left_golden_id", "right_golden_id"))
    return qs.filter(**{name: value for name, value in filters.items() if name != without})


def _after(candidate) -> Q:
    """Proposals after ``candidate`` in the inbox order (priority, probability descending, id)."""
    p, prob, pk = candidate.priority, candidate.probability, candidate.pk
    return Q(priority__gt=p) | Q(priority=p, probability__lt=prob) | Q(priority=p, probability=prob, id__gt=pk)


def _before(candidate) -> Q:
    p, prob, pk = candidate.priority, candidate.probability, candidate.pk
    return Q(priority__lt=p) | Q(priority=p, probability__gt=prob) | Q(priority=p, probability=prob, id__lt=pk)


def _neighbours(user, candidate, specs, filters) -> tuple[int | None, int | None]:
    """The previous and next pending proposal around ``candidate`` in the (filtered) inbox order."""
    qs = _pending(user, specs, filters).exclude(pk=candidate.pk)
    previous = qs.filter(_before(candidate)).order_by("-priority", "probability", "-id").values_list("pk", flat=True)
    following = qs.filter(_after(candidate)).order_by(*INBOX_ORDER).values_list("pk", flat=True)
    return previous.first(), following.first()


def _next_after(user, candidate, specs, filters) -> int | None:
    """Where a steward goes after deciding: the next pending proposal, else the first one left (wrapping)."""
    qs = _pending(user, specs, filters).exclude(pk=candidate.pk).order_by(*INBOX_ORDER)
    following = qs.filter(_after(candidate)).values_list("pk", flat=True).first()
    return following if following is not None else qs.values_list("pk", flat=True).first()


def _detail_url(pk: int, filters: dict) -> str:
    query = urlencode(filters)
    return reverse("review-detail", args=[pk]) + (f"?{query}" if query else "")


def _inbox_url(filters: dict) -> str:
    query = urlencode(filters)
    return reverse("review-inbox") + (f"?{query}" if query else "")


# --- labels, in bulk ---------------------------------------------------------------------------------------


def _source_label(spec, record) -> str:
    label = ""
    if spec.matching is not None:
        try:
            label = spec.matching.label(spec.matching.source_row(record.standardized or {}))
        except Exception:  # a payload the adapter can't read still gets a label: its system and id
            label = ""
    return label or spec.display(record.standardized or {}) or record.external_id


def ref_labels(candidates) -> dict[tuple[str, str], str]:
    """``(entity_type, ref)`` -> a short label for every side of ``candidates``.

    One query per entity type for golden records (the matching adapter's ``golden_rows``, which reads children
    in bulk), one for source records not already joined, one for golden records the adapter skips (retired).
    """
    labels: dict[tuple[str, str], str] = {}
    golden: dict[str, set[int]] = {}
    crosswalks: dict[int, str] = {}
    for candidate in candidates:
        for ref in (candidate.left_ref, candidate.right_ref):
            kind, _, raw = ref.partition(":")
            if kind == "g":
                golden.setdefault(candidate.entity_type, set()).add(int(raw))
            elif kind == "c":
                record = candidate.source_record
                if record is not None and record.crosswalk_id == int(raw):
                    spec = registry.get(candidate.entity_type)
                    labels[(candidate.entity_type, ref)] = _source_label(spec, record)
                else:
                    crosswalks[int(raw)] = candidate.entity_type
    if crosswalks:
        current = SourceRecord.objects.filter(crosswalk_id__in=list(crosswalks), is_current=True)
        for record in current:
            spec = registry.get(record.entity_type)
            labels[(record.entity_type, f"c:{record.crosswalk_id}")] = _source_label(spec, record)
    for entity_type, ids in golden.items():
        spec = registry.get(entity_type)
        found = set()
        for row in spec.matching.golden_rows(sorted(ids)):
            labels[(entity_type, f"g:{row['id']}")] = spec.matching.label(row)
            found.add(row["id"])
        missing = ids - found
        if missing:
            label = spec.stewardship.label if spec.stewardship is not None else str
            for obj in spec.model._default_manager.filter(pk__in=missing):
                labels[(entity_type, f"g:{obj.pk}")] = f"{label(obj)} ({obj.get_status_display().lower()})"
    for candidate in candidates:
        for ref in (candidate.left_ref, candidate.right_ref):
            labels.setdefault((candidate.entity_type, ref), f"{ref} (gone)")
    return labels


# --- inbox ----------------------------------------------------------------------------------------------


def _facets(user, specs, filters: dict) -> dict[str, list[dict]]:
    """Per filter: its choices with counts (under the other filters), the chosen one marked, and their links."""
    choices = {
        "entity_type": [(spec.entity_type, spec.label) for spec in specs],
        "kind": [
            (MatchCandidate.Kind.DUPLICATE, "Duplicate golden records"),
            (MatchCandidate.Kind.LINK, "Source record to link"),
        ],
        "band": list(MatchCandidate.Band.choices),
        "status": [(MatchCandidate.Status.OPEN, "Open"), (MatchCandidate.Status.DEFERRED, "Deferred")],
    }
    facets = {}
    for name in FILTERS:
        counts = dict(_pending(user, specs, filters, without=name).values_list(name).annotate(n=Count("pk")).order_by())
        others = {key: value for key, value in filters.items() if key != name}
        options = [
            {
                "value": "",
                "label": "All",
                "count": sum(counts.values()),
                "active": name not in filters,
                "url": _inbox_url(others),
            }
        ]
        for value, label in choices[name]:
            options.append(
                {
                    "value": value,
                    "label": label,
                    "count": counts.get(value, 0),
                    "active": filters.get(name) == value,
                    "url": _inbox_url({**others, name: value}),
                }
            )
        facets[name] = options
    return facets


@login_required
@require_GET
def review_inbox(request):
    """Open and deferred match proposals, most urgent first, with filters and their counts."""
    _require_view(request)
    specs = _visible_entity_types(request.user)
    filters = _filters(request.GET, specs)
    qs = _pending(request.user, specs, filters).select_related("source_record__system").order_by(*INBOX_ORDER)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    candidates = list(page.object_list)
    labels = ref_labels(candidates)
    spec_labels = {spec.entity_type: spec.label for spec in specs}
    rows = [
        {
            "candidate": c,
            "left": labels[(c.entity_type, c.left_ref)],
            "right": labels[(c.entity_type, c.right_ref)],
            "entity_label": spec_labels.get(c.entity_type, c.entity_type),
            "percent": percent(c.probability),
            "url": _detail_url(c.pk, filters),
        }
        for c in candidates
    ]
    query = urlencode(filters)
    context = {
        "rows": rows,
        "page": page,
        "facets": _facets(request.user, specs, filters),
        "filters": filters,
        "page_query": f"{query}&" if query else "",
        "filtered": bool(filters),
        "can_decide": request.user.has_perm(DECIDE_PERM),
        "first_url": rows[0]["url"] if rows else "",
    }
    return render(request, "mdm/review/inbox.html", context)


# --- compare --------------------------------------------------------------------------------------------------


def _field_label(spec, field: str) -> str:
    """The stewardship label, else the model field's verbose name ("D-U-N-S"), else the name humanized; a derived
    comparison ``address.numbers`` -> "Address (numbers)"."""
    base, _, part = field.partition(".")
    adapter = spec.stewardship
    label = adapter.labels.get(base) if adapter is not None else None
    if not label:
        try:
            label = getattr(spec.model._meta.get_field(base), "verbose_name", None)
        except FieldDoesNotExist:
            label = None
        label = capfirst(str(label or base.replace("_", " ")))
    return f"{label} ({part.replace('_', ' ')})" if part else label


def _lineage_entry(lineage: dict, field: str):
    """The lineage of the golden field a match field reads (``name`` -> ``legal_name``, ``manufacturer`` ->
    ``manufacturer_name``): the match spec and the stewardship fields don't always share a name."""
    if field in lineage:
        return lineage[field]
    for key in sorted(lineage):
        if key.endswith(f"_{field}") or key.startswith(f"{field}_") or key.startswith(field):
            return lineage[key]
    return None


def _lineage_text(entry) -> str:
    if not isinstance(entry, dict):
        return "golden record"
    source = entry.get("source") or entry.get("system") or "golden record"
    rule = entry.get("rule")
    by = entry.get("by")
    text = str(source)
    if by and source == "steward":
        text = f"steward {by}"
    return f"{text} · {rule}" if rule else text


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value if item not in (None, ""))
    return str(value)


def _side(candidate, ref: str, spec, labels) -> dict:
    kind, _, raw = ref.partition(":")
    side = {"ref": ref, "id": int(raw), "label": labels[(candidate.entity_type, ref)], "golden": kind == "g"}
    if kind == "g":
        side["url"] = record_url(candidate.entity_type, side["id"])
        side["what"] = f"Golden {spec.label.lower()} #{side['id']}"
        side["lineage"] = golden_lineage(candidate.entity_type, side["id"])
    else:
        record = candidate.source_record
        if record is None or record.crosswalk_id != side["id"]:
            record = (
                SourceRecord.objects.select_related("system").filter(crosswalk_id=side["id"], is_current=True).first()
            )
        side["record"] = record
        side["source"] = f"{record.system.name} · {record.external_id}" if record is not None else ref
        side["what"] = f"Source record {side['source']}"
        crosswalk = Crosswalk.objects.filter(pk=side["id"]).only("golden_id").first()
        side["linked_to"] = crosswalk.golden_id if crosswalk is not None else None
        if side["linked_to"]:
            side["linked_url"] = record_url(candidate.entity_type, side["linked_to"])
    return side


def _rows(spec, explanation: dict, left: dict, right: dict) -> list[dict]:
    fields = explanation.get("fields") or []
    widest = max((abs(float(f.get("weight") or 0)) for f in fields), default=0) or 1.0
    rows = []
    for item in fields:
        weight = float(item.get("weight") or 0)
        level = item.get("level")
        shown = {}
        for name, side in (("left", left), ("right", right)):
            raw, std = item.get(f"{name}_raw"), item.get(name)
            value = _shown(raw) if raw not in (None, "", []) else _shown(std)
            std_text = _shown(std)
            if side["golden"]:
                source = _lineage_text(_lineage_entry(side["lineage"], item.get("field", "")))
            else:
                source = side["source"]
            shown[name] = {
                "value": value,
                "std": std_text if std_text and std_text.casefold() != value.casefold() else "",
                "source": source if value else "",
            }
        if level == 0 or not shown["left"]["value"] or not shown["right"]["value"]:
            state = "missing"
        elif level == 1 or (level is None and shown["left"]["value"].casefold() == shown["right"]["value"].casefold()):
            state = "same"
        else:
            state = "diff"
        rows.append(
            {
                "field": item.get("field", ""),
                "label": _field_label(spec, item.get("field", "")),
                "values": [shown["left"], shown["right"]],
                "level": item.get("label") or "",
                "weight": weight,
                "sign": "+" if weight > 0 else ("−" if weight < 0 else "±"),
                "bits": f"{abs(weight):.2f}",
                "half": round(abs(weight) / widest * 50, 1),
                "state": state,
                "both_missing": not shown["left"]["value"] and not shown["right"]["value"],
            }
        )
    return rows


def pair_golden_ids(candidate) -> list[int]:
    """The golden ids of a duplicate pair, from its refs (``left_golden_id`` is optional on the row)."""
    return [int(ref[2:]) for ref in (candidate.left_ref, candidate.right_ref) if ref.startswith("g:")]


def _link_counts(candidate) -> dict[int, int]:
    ids = pair_golden_ids(candidate)
    return dict(
        Crosswalk.objects.filter(entity_type=candidate.entity_type, golden_id__in=ids)
        .values_list("golden_id")
        .annotate(n=Count("pk"))
        .order_by()
    )


def survivor_default(candidate, counts: dict[int, int]) -> int:
    """For a duplicate pair: the record more source records are linked to survives; on a tie, the lower id."""
    return min(pair_golden_ids(candidate), key=lambda golden_id: (-counts.get(golden_id, 0), golden_id))


def _compare_context(request, candidate, specs, filters) -> dict:
    spec = registry.get(candidate.entity_type)
    labels = ref_labels([candidate])
    left = _side(candidate, candidate.left_ref, spec, labels)
    right = _side(candidate, candidate.right_ref, spec, labels)
    explanation = candidate.explanation if isinstance(candidate.explanation, dict) else {}
    previous, following = _neighbours(request.user, candidate, specs, filters)
    pending = candidate.status in PENDING
    survivor = None
    merge_requests = []
    if candidate.kind == MatchCandidate.Kind.DUPLICATE and len(pair_golden_ids(candidate)) == 2:
        counts = _link_counts(candidate)
        survivor = survivor_default(candidate, counts)
        for side in (left, right):
            side["links"] = counts.get(side["id"], 0)
        merge_requests = [
            {"cr": cr, "url": change_url(cr.pk)}
            for cr in ChangeRequest.objects.filter(match_candidate=candidate).order_by("-pk")[:5]
        ]
    return {
        "candidate": candidate,
        "spec": spec,
        "sides": [left, right],
        "rows": _rows(spec, explanation, left, right),
        "percent": percent(candidate.probability),
        "prior_weight": explanation.get("prior_weight"),
        "match_weight": explanation.get("match_weight", candidate.match_weight),
        "pending": pending,
        "can_decide": pending and request.user.has_perm(DECIDE_PERM),
        "is_duplicate": candidate.kind == MatchCandidate.Kind.DUPLICATE,
        "survivor": survivor,
        "filters": filters,
        "inbox_url": _inbox_url(filters),
        "previous_url": _detail_url(previous, filters) if previous else "",
        "next_url": _detail_url(following, filters) if following else "",
        "merge_requests": merge_requests,
    }


def _candidate(user, pk, specs):
    candidates = MatchCandidate.objects.select_related("source_record__system", "decided_by")
    candidates = limit_references(user, candidates, id_fields=("left_golden_id", "right_golden_id"))
    candidate = get_object_or_404(candidates, pk=pk)
    if candidate.entity_type not in {spec.entity_type for spec in specs}:
        raise Http404("No such proposal.")
    return candidate


@login_required
@require_GET
def review_detail(request, pk: int):
    """Side-by-side compare of one proposal, with the decision form (or the decision, once made)."""
    _require_view(request)
    specs = _visible_entity_types(request.user)
    candidate = _candidate(request.user, pk, specs)
    filters = _filters(request.GET, specs)
    return render(request, "mdm/review/compare.html", _compare_context(request, candidate, specs, filters))


# --- decide -------------------------------------------------------------------------------------------------


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _decide(request, candidate, decision: str, reason: str, labels) -> str:
    """Carry out the steward's decision; returns the message naming what was done. Raises on refusal."""
    from mdm.services.changes import merge_propose
    from mdm.services.matching import match_candidate_decide

    left = labels[(candidate.entity_type, candidate.left_ref)]
    right = labels[(candidate.entity_type, candidate.right_ref)]
    if decision == "match" and candidate.kind == MatchCandidate.Kind.DUPLICATE:
        ids = set(pair_golden_ids(candidate))
        try:
            survivor_id = int(request.POST.get("survivor", ""))
        except ValueError:
            survivor_id = None
        if len(ids) != 2 or survivor_id not in ids:
            raise ValidationError("Choose which record survives the merge.")
        (merged_id,) = ids - {survivor_id}
        cr = merge_propose(
            entity_type=candidate.entity_type,
            survivor_id=survivor_id,
            merged_id=merged_id,
            actor=request.user,
            reason=reason,
            candidate=candidate,
        )
        return format_html(
            'Merge proposed: change request <a href="{}">#{}</a> (#{} into #{}), waiting for approval.',
            change_url(cr.pk),
            cr.pk,
            merged_id,
            survivor_id,
        )
    match_candidate_decide(candidate, decision=decision, actor=request.user, reason=reason)
    if decision == "match":
        return f"Linked source record “{left}” to golden record “{right}”."
    if decision == "distinct":
        return f"Not a match: “{left}” and “{right}”; this pair won't be proposed again."
    return f"Deferred: “{left}” and “{right}”."


@login_required
@require_POST
def review_decide(request, pk: int):
    """Merge (link, or propose a merge), not a match, or defer; then on to the next proposal."""
    from mdm.services.changes import ChangeError
    from mdm.services.matching import DecisionError

    _require_view(request)
    if not request.user.has_perm(DECIDE_PERM):
        raise PermissionDenied("You may not decide match proposals.")
    specs = _visible_entity_types(request.user)
    candidate = _candidate(request.user, pk, specs)
    filters = _filters(request.POST, specs)
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "").strip()
    here = _detail_url(candidate.pk, filters)
    try:
        if decision not in DECISIONS:
            raise ValidationError("Choose Merge, Not a match or Defer.")
        if candidate.status not in PENDING:
            raise DecisionError(f"This proposal is already {candidate.get_status_display().lower()}.")
        done = _decide(request, candidate, decision, reason, ref_labels([candidate]))
    except (DecisionError, ChangeError, ValidationError) as exc:
        messages.error(request, f"Nothing was changed: {_error_text(exc)}")
        return _go(request, here)
    messages.success(request, done)
    following = _next_after(request.user, candidate, specs, filters)
    if following is None:
        return _go(request, _inbox_url(filters))
    return _go(request, _detail_url(following, filters))


def _go(request, url: str):
    """A redirect; for htmx, the same page fetched into ``<main>`` (the panel and the base page's flash messages)
    and pushed to the history, so the header and the scripts stay as they are."""
    if request.htmx:
        response = HttpResponse()
        response["HX-Location"] = json.dumps({"path": url, "target": "main", "select": "main", "swap": "outerHTML"})
        return response
    return redirect(url)


urlpatterns = [
    path("review/", review_inbox, name="review-inbox"),
    path("review/<int:pk>/", review_detail, name="review-detail"),
    path("review/<int:pk>/decide/", review_decide, name="review-decide"),
]
