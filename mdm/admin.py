"""Admin for the shared MDM models. Source records and quarantine are evidence: read-only."""

import json

from django.contrib import admin
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from mdm.models import (
    Crosswalk,
    IngestBatch,
    MatchCandidate,
    MatchDecision,
    MatchKey,
    MatchModel,
    MatchRun,
    QuarantinedRecord,
    SourceRecord,
    SourceSystem,
    StewardTask,
)
from mdm.payload_secrets import masked, secret_paths

admin.site.site_header = "MDM hub administration"
admin.site.site_title = "MDM hub admin"
admin.site.index_title = "Master data, sources and history"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SourceSystem)
class SourceSystemAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "trust_rank", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "description"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Crosswalk)
class CrosswalkAdmin(SimpleHistoryAdmin):
    list_display = ["external_id", "system", "entity_type", "golden_id", "link_method", "linked_by", "linked_at"]
    list_filter = ["entity_type", "system", "link_method"]
    search_fields = ["external_id"]
    show_full_result_count = False  # counting 100k+ rows on every page is the slow part of a list
    list_select_related = ["system", "linked_by"]
    readonly_fields = ["system", "entity_type", "external_id", "created_at"]
    raw_id_fields = ["linked_by"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MaskedPayloadAdmin(ReadOnlyAdmin):
    """Shows the payload with secrets masked instead of the stored (sealed) JSON."""

    @admin.display(description="payload")
    def payload_masked(self, obj):
        shown = masked(obj.payload, secret_paths(obj.entity_type))
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(shown, indent=2, ensure_ascii=False)
        )

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "payload"]
        return ["payload_masked", *fields]

    def get_readonly_fields(self, request, obj=None):
        return ["payload_masked", *super().get_readonly_fields(request, obj)]


@admin.register(SourceRecord)
class SourceRecordAdmin(MaskedPayloadAdmin):
    list_display = ["external_id", "system", "entity_type", "version", "is_current", "received_at"]
    list_filter = ["entity_type", "is_current", "system"]
    search_fields = ["external_id", "payload_hash"]
    list_select_related = ["system"]
    show_full_result_count = False
    date_hierarchy = "received_at"


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(MaskedPayloadAdmin):
    list_display = ["external_id", "system", "entity_type", "status", "received_at"]
    list_filter = ["status", "entity_type", "system"]
    search_fields = ["external_id"]
    list_select_related = ["system"]
    show_full_result_count = False


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "system",
        "entity_type",
        "channel",
        "filename",
        "status",
        "total",
        "stored",
        "unchanged",
        "rejected",
        "actor",
        "started_at",
    ]
    list_filter = ["channel", "status", "entity_type", "system"]
    list_select_related = ["system", "actor"]


@admin.register(StewardTask)
class StewardTaskAdmin(SimpleHistoryAdmin):
    list_display = ["title", "kind", "entity_type", "object_id", "priority", "status", "due_date", "created_at"]
    list_filter = ["status", "kind", "entity_type", "priority"]
    search_fields = ["title", "=dedupe_key"]
    readonly_fields = [
        "kind",
        "entity_type",
        "object_id",
        "title",
        "details",
        "dedupe_key",
        "created_at",
        "updated_at",
        "resolved_at",
        "resolved_by",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MatchRun)
class MatchRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "entity_type",
        "mode",
        "status",
        "records",
        "candidate_pairs",
        "match_pairs",
        "review_pairs",
        "auto_linked",
        "created_golden",
        "started_at",
        "duration_seconds",
    ]
    list_filter = ["entity_type", "mode", "status"]


@admin.register(MatchCandidate)
class MatchCandidateAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["id", "entity_type", "kind", "left_ref", "right_ref", "probability", "band", "status", "priority"]
    list_filter = ["entity_type", "kind", "band", "status"]
    search_fields = ["=left_ref", "=right_ref"]
    show_full_result_count = False


@admin.register(MatchDecision)
class MatchDecisionAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["entity_type", "left_ref", "right_ref", "is_match", "decided_by", "decided_at"]
    list_filter = ["entity_type", "is_match"]
    search_fields = ["=left_ref", "=right_ref"]


@admin.register(MatchKey)
class MatchKeyAdmin(ReadOnlyAdmin):
    """Derived data (rebuilt by batch runs, refreshed on every golden record save); shown for troubleshooting."""

    list_display = ["entity_type", "key", "golden_id"]
    list_filter = ["entity_type"]
    search_fields = ["=key", "=golden_id"]
    show_full_result_count = False


@admin.register(MatchModel)
class MatchModelAdmin(ReadOnlyAdmin):
    list_display = ["entity_type", "trained_at", "trained_on", "run"]
