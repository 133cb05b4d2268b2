"""Admin for the audit log: read-only, filtered by action, date and actor, searched by object or correlation id,
with "Download CSV" of what the list shows (which writes an ``audit.export`` row). Registered from ``mdm.admin``.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from mdm.audit_log import audit_export
from mdm.models import AuditEvent


class ActorFilter(admin.SimpleListFilter):
    """The people (and ``system``) who appear in the log, by the name kept on each row."""

    title = "actor"
    parameter_name = "actor_name"

    def lookups(self, request, model_admin):
        names = AuditEvent.objects.order_by("actor_name").values_list("actor_name", flat=True).distinct()[:200]
        return [(name or "-", name or "(system)") for name in names]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(actor_name="" if value == "-" else value)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "action",
        "actor_name",
        "via",
        "object_type",
        "object_id",
        "object_repr",
        "correlation_id",
        "ip",
    ]
    list_filter = ["action", "at", ActorFilter, "via"]
    search_fields = ["=object_id", "=correlation_id", "object_repr", "=actor_name"]
    date_hierarchy = "at"
    show_full_result_count = False
    list_per_page = 100
    fields = [
        "at",
        "action",
        "actor_name",
        "via",
        "object_type",
        "object_id",
        "object_repr",
        "correlation_id",
        "ip",
        "detail_shown",
    ]
    readonly_fields = fields
    change_list_template = "admin/mdm/auditevent/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="detail")
    def detail_shown(self, obj):
        text = json.dumps(obj.detail, indent=2, sort_keys=True, default=str)
        return format_html('<pre class="mdm-pre">{}</pre>', text)

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="mdm_auditevent_export"), *super().get_urls()]

    def export_view(self, request):
        """CSV of the rows the list shows with the same filters and search (every page, not only the first)."""
        if not self.has_view_permission(request):
            raise PermissionDenied("Exporting the audit log needs mdm.view_auditevent (the auditor role).")
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        filters = dict(request.GET.items())
        response = StreamingHttpResponse(
            audit_export(queryset, request=request, filters=filters), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate()}.csv"'
        return response
