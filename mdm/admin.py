"""Admin for the shared MDM models. Source records and quarantine are evidence: read-only."""

import json

from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils.html import format_html
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from mdm.exports import decision_csv_rows
from mdm.models import (
    ApprovalScope,
    ChangeApproval,
    ChangeComment,
    ChangeRequest,
    Crosswalk,
    DecisionLog,
    GoldenLineage,
    IngestBatch,
    MatchCandidate,
    MatchDecision,
    MatchKey,
    MatchModel,
    MatchRun,
    MergeRecord,
    PinnedValue,
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
        return format_html('<pre class="mdm-pre">{}</pre>', json.dumps(shown, indent=2, ensure_ascii=False))

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


# --- stewardship: change requests are made and decided in the steward UI and API; here they are evidence ---------


class ChangeApprovalInline(admin.TabularInline):
    model = ChangeApproval
    extra = 0
    can_delete = False
    fields = ["actor", "decision", "reason", "base_version", "void", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ChangeCommentInline(admin.TabularInline):
    model = ChangeComment
    extra = 0
    can_delete = False
    fields = ["author", "text", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["id", "kind", "entity_type", "object_id", "title", "status", "risk", "requested_by", "submitted_at"]
    list_filter = ["status", "kind", "entity_type", "risk", "origin", "auto_approved"]
    search_fields = ["=id", "=object_id", "title"]
    date_hierarchy = "created_at"
    inlines = [ChangeApprovalInline, ChangeCommentInline]
    show_full_result_count = False


@admin.register(ChangeApproval)
class ChangeApprovalAdmin(ReadOnlyAdmin):
    list_display = ["change_request", "actor", "decision", "void", "created_at"]
    list_filter = ["decision", "void"]


@admin.register(ChangeComment)
class ChangeCommentAdmin(ReadOnlyAdmin):
    list_display = ["change_request", "author", "created_at"]


@admin.register(DecisionLog)
class DecisionLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "entity_type", "object_id", "summary", "actor", "requested_by"]
    list_filter = ["action", "entity_type", "kind"]
    search_fields = ["=object_id", "summary", "reason"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]
    show_full_result_count = False

    @admin.action(description="Export the selected decisions as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = StreamingHttpResponse(
            decision_csv_rows(queryset.select_related("actor").order_by("created_at", "id")),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="decisions.csv"'
        return response


@admin.register(MergeRecord)
class MergeRecordAdmin(ReadOnlyAdmin):
    list_display = ["entity_type", "merged_id", "survivor_id", "change_request", "created_at", "unmerged_at"]
    list_filter = ["entity_type"]
    search_fields = ["=merged_id", "=survivor_id"]


@admin.register(PinnedValue)
class PinnedValueAdmin(ReadOnlyAdmin):
    list_display = ["entity_type", "object_id", "field", "pinned_by", "created_at"]
    list_filter = ["entity_type", "field"]


@admin.register(GoldenLineage)
class GoldenLineageAdmin(ReadOnlyAdmin):
    list_display = ["entity_type", "object_id", "updated_at"]
    list_filter = ["entity_type"]
    search_fields = ["=object_id"]


@admin.register(ApprovalScope)
class ApprovalScopeAdmin(GuardedModelAdmin):
    """Scopes are assigned to approvers (users or groups) on the "Object permissions" page of each scope."""

    list_display = ["name", "entity_type", "unspsc_prefix", "supplier_id"]
    search_fields = ["name", "=unspsc_prefix"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


# --- admins in their own modules, registered on import: access limits (attribute-based, mdm.access) and the
# audit log (read-only, CSV export) ---
import mdm.admin_audit  # noqa: E402, F401
import mdm.admin_limits  # noqa: E402, F401

# --- API tokens: issue for any account (the secret shown once), revoke; mdm.admin_tokens ---
import mdm.admin_tokens  # noqa: E402, F401
