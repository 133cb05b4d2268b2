"""Reading the audit log: one filter set and one CSV writer for the API (``mdm.api.audit``) and admin.

Exporting the log is itself a sensitive read (it names who looked at which supplier's bank details): each
export writes an ``audit.export`` row with the filter and the row count before the file is produced.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import django_filters
from django.db.models import Max, QuerySet

from mdm import audit
from mdm.exports import Echo, _cell
from mdm.filters import UTCIsoDateTimeFilter
from mdm.models import AuditEvent

AUDIT_COLUMNS = [
    "at",
    "action",
    "actor",
    "via",
    "object_type",
    "object_id",
    "object",
    "correlation_id",
    "ip",
    "detail",
]


class AuditEventFilterSet(django_filters.FilterSet):
    action = django_filters.MultipleChoiceFilter(choices=AuditEvent.Action.choices)
    actor = django_filters.CharFilter(field_name="actor_name", help_text="The actor's username (exact).")
    object_type = django_filters.CharFilter(help_text="app_label.model, e.g. suppliers.supplier.")
    object_id = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()
    via = django_filters.CharFilter(help_text="session, token:<prefix>, system...")
    since = UTCIsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text="From (ISO 8601).")
    until = UTCIsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="Before (ISO 8601).")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "object_type", "object_id", "correlation_id", "via", "since", "until"]


def audit_events() -> QuerySet[AuditEvent]:
    """Every audit row, newest first (the actor is kept by name too, so no join is needed to show it)."""
    return AuditEvent.objects.order_by("-at", "-id")


def audit_export(queryset, *, request, filters: dict) -> Iterator[str]:
    """CSV lines of ``queryset`` (header first, oldest first), after writing the ``audit.export`` row.

    The export row itself is not in the file: it is written after the rows are chosen.
    """
    # Rows written from now on (this export's own row among them) are not in the file: the count stays true.
    last = AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    rows = queryset.filter(pk__lte=last)
    count = rows.count()
    audit.record(
        AuditEvent.Action.AUDIT_EXPORT,
        request=request,
        object_type="mdm.auditevent",
        object_repr=f"{count} audit events",
        detail={"rows": count, "filter": filters},
    )
    return audit_csv_rows(rows.order_by("at", "id"))


def audit_csv_rows(queryset) -> Iterator[str]:
    """CSV lines (header first) for audit rows, streamed; spreadsheet formulas neutralized."""
    writer = csv.writer(Echo())
    yield writer.writerow(AUDIT_COLUMNS)
    for row in queryset.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    row.at.isoformat(),
                    row.action,
                    row.actor_name,
                    row.via,
                    row.object_type,
                    row.object_id,
                    row.object_repr,
                    row.correlation_id,
                    row.ip,
                    json.dumps(row.detail, sort_keys=True, default=str),
                )
            ]
        )
