"""Search across the entity types a person may read: grouped results, status filter, pages of 25."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from mdm import registry
from mdm.access import limit_queryset
from mdm.choices import RecordStatus
from mdm.ui.records.access import can_change, can_view, page_view, record_url, scalar_fields

PAGE_SIZE = 25
STATUS_FILTERS = {
    "": ("Active and inactive", (RecordStatus.ACTIVE, RecordStatus.INACTIVE)),
    "active": ("Active", (RecordStatus.ACTIVE,)),
    "inactive": ("Inactive", (RecordStatus.INACTIVE,)),
    "retired": ("Retired", (RecordStatus.RETIRED,)),
    "all": ("All, with retired", tuple(RecordStatus.values)),
}


def _identifier_fields(spec) -> list[tuple[str, str]]:
    """Short indexed code columns (DUNS, EIN, NDC, UNSPSC...): what search results show next to the label."""
    out = []
    for name, field in scalar_fields(spec):
        internal = field.get_internal_type()
        if internal == "CharField" and field.db_index and not field.choices and (field.max_length or 999) <= 24:
            out.append((name, str(field.verbose_name)))
    return out


def _searchable_specs(user) -> list:
    return [
        spec
        for spec in registry.all_specs()
        if spec.stewardship is not None and spec.stewardship.search is not None and can_view(user, spec)
    ]


def _result_rows(spec, objects) -> list[dict]:
    adapter = spec.stewardship
    identifiers = _identifier_fields(spec)
    rows = []
    for obj in objects:
        rows.append(
            {
                "pk": obj.pk,
                "label": adapter.label(obj),
                "status": obj.status,
                "identifiers": [(label, getattr(obj, name)) for name, label in identifiers if getattr(obj, name)],
                "url": record_url(spec.entity_type, obj.pk),
            }
        )
    return rows


def _create_url(spec, text: str = "") -> str:
    url = reverse("record-create", args=[spec.entity_type])
    fields = scalar_fields(spec)
    if text and fields:
        url += "?" + urlencode({fields[0][0]: text})  # the first field is the record's name or description
    return url


@page_view
def search(request):
    """Search every readable entity type; one type (``?type=``) pages through its results or browses its records."""
    specs = _searchable_specs(request.user)
    if not specs:
        raise PermissionDenied("You may not read any golden records. Ask for the viewer, steward or approver role.")
    text = " ".join(request.GET.get("q", "").split())
    wanted = request.GET.get("type", "")
    chosen = [spec for spec in specs if spec.entity_type == wanted]
    status = request.GET.get("status", "")
    if status not in STATUS_FILTERS:
        status = ""
    statuses = STATUS_FILTERS[status][1]
    groups = []
    if text or chosen:
        for spec in chosen or specs:
            model = spec.model
            qs = spec.stewardship.search(text) if text else model._default_manager.all()
            qs = limit_queryset(request.user, spec.entity_type, qs.filter(status__in=statuses))
            if not qs.ordered:
                qs = qs.order_by(*(model._meta.ordering or ["pk"]))
            paginator = Paginator(qs, PAGE_SIZE)
            page = paginator.get_page(request.GET.get("page") if chosen else 1)
            more = ""
            if not chosen and paginator.num_pages > 1:
                more = "?" + urlencode({"q": text, "type": spec.entity_type, "status": status})
            groups.append(
                {
                    "spec": spec,
                    "page": page,
                    "count": paginator.count,
                    "rows": _result_rows(spec, page.object_list),
                    "more_url": more,
                    "create_url": _create_url(spec, text) if can_change(request.user, spec) else "",
                }
            )
    groups.sort(key=lambda group: group["count"] == 0)  # types with results first
    base = {"q": text, "status": status}
    if chosen:
        base["type"] = wanted
    context = {
        "q": text,
        "type": wanted if chosen else "",
        "chosen": chosen[0] if chosen else None,
        "status": status,
        "statuses": [(key, label) for key, (label, _) in STATUS_FILTERS.items()],
        "specs": specs,
        "groups": groups,
        "found": sum(group["count"] for group in groups),
        "page_query": urlencode({key: value for key, value in base.items() if value}),
        "create_links": [(spec, _create_url(spec, text)) for spec in specs if can_change(request.user, spec)],
    }
    return render(request, "mdm/search.html", context)
