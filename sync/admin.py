"""Admin for syndication: targets (secret write-only) with their subscriptions; the rest is evidence, read-only.

Replay and connection checks call ``sync.services`` like the operations pages do; a payload shows bank numbers
as their last four digits and excerpts have the target's secret taken out.
"""

import json

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from mdm import audit
from mdm.admin import MaskedPayloadAdmin, ReadOnlyAdmin
from mdm.models import AuditEvent
from sync import selectors
from sync.forms import SubscriptionForm, SubscriptionFormSet, TargetForm
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, SyncRun, Target, Watermark
from sync.services import deliveries_replay, target_check

#: Where a target's secret is used: a change to one of them is audited with the secret's.
CREDENTIAL_FIELDS = ("url", "database", "login")


def _pre(value) -> str:
    return format_html('<pre class="mdm-pre">{}</pre>', value)


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    form = SubscriptionForm
    formset = SubscriptionFormSet
    extra = 0
    fields = ["entity_type", "filters", "enabled"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    inlines = [SubscriptionInline]
    list_display = ["name", "kind", "url", "enabled", "detected_version", "version_checked_at", "operations_link"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "url"]
    readonly_fields = ["detected_version", "version_checked_at", "created_at", "updated_at"]
    actions = ["check_connection"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled"]}),
        (
            "Connection",
            {
                "fields": ["url", "database", "login", "secret", "protocol", "company_id", "timeout_seconds"],
                "description": "Odoo: base URL, database, the integration user's login and API key. "
                "Webhook: the receiver's URL and the signing secret.",
            },
        ),
        ("File drop", {"fields": ["directory", "file_format"]}),
        ("Delivery", {"fields": ["batch_size", "max_attempts"]}),
        ("Inbound (Odoo)", {"fields": ["inbound", "source_system"]}),
        ("Seen", {"fields": ["detected_version", "version_checked_at", "created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # View-only pages show every field's value: the secret's place shows only whether one is stored.
        return [
            (name, {**options, "fields": ["secret_state" if f == "secret" else f for f in options["fields"]]})
            for name, options in fieldsets
        ]

    def save_model(self, request, obj, form, change):
        """Save, and write a ``target.secret_change`` audit row when the secret or where it is used changed.

        The row says that the secret was set or replaced (never the secret itself) and which connection fields
        (URL, database, login) changed with it.
        """
        new_secret = bool(form.cleaned_data.get("secret"))
        had_secret = change and bool(Target.objects.filter(pk=obj.pk).values_list("secret", flat=True).first())
        connection = [name for name in CREDENTIAL_FIELDS if change and name in form.changed_data]
        super().save_model(request, obj, form, change)
        if new_secret or connection:
            audit.record(
                AuditEvent.Action.TARGET_SECRET_CHANGE,
                request=request,
                obj=obj,
                detail={
                    "secret": ("replaced" if had_secret else "set") if new_secret else "unchanged",
                    "changed": connection,
                    "created": not change,
                },
            )

    @admin.display(description="secret")
    def secret_state(self, obj):
        return "set (encrypted; never shown)" if obj.secret else "not set"

    @admin.display(description="operations")
    def operations_link(self, obj):
        return format_html('<a href="{}">figures &amp; deliveries</a>', reverse("operations-target", args=[obj.pk]))

    @admin.action(description="Check the connection of the selected targets", permissions=["change"])
    def check_connection(self, request, queryset):
        for target in queryset:
            try:
                result = target_check(target) or {}
            except Exception as exc:  # the failure is the answer
                self.message_user(
                    request, f"Could not connect to {target}: {selectors.redacted(str(exc), target)}", messages.ERROR
                )
                continue
            shown = ", ".join(
                f"{key.replace('_', ' ')} {value}" for key, value in result.items() if value not in (None, "")
            )
            self.message_user(request, f"Connected to {target}: {selectors.redacted(shown, target)}", messages.SUCCESS)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Also edited inline on the target; listed here to see every target's subscriptions at once."""

    form = SubscriptionForm
    fields = ["target", "entity_type", "filters", "enabled"]
    list_display = ["target", "entity_type", "filters", "enabled"]
    list_filter = ["entity_type", "enabled", "target"]
    list_select_related = ["target"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "target",
        "entity_type",
        "object_id",
        "version",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "error_kind",
    ]
    list_filter = ["status", "target", "entity_type", "error_kind", "archive"]
    search_fields = ["=object_id", "=correlation_id", "=target_ref"]
    list_select_related = ["target"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ["replay_selected"]
    exclude = ["request_excerpt", "response_excerpt", "last_error"]
    readonly_fields = ["operations_link", "error", "request", "response"]

    def has_replay_permission(self, request):
        return request.user.has_perm("sync.replay_delivery")

    @admin.display(description="operations page")
    def operations_link(self, obj):
        return format_html('<a href="{}">delivery #{}</a>', reverse("operations-delivery", args=[obj.pk]), obj.pk)

    @admin.display(description="last error")
    def error(self, obj):
        return _pre(selectors.redacted(obj.last_error, obj.target))

    @admin.display(description="request excerpt")
    def request(self, obj):
        return _pre(selectors.redacted(obj.request_excerpt, obj.target))

    @admin.display(description="response excerpt")
    def response(self, obj):
        return _pre(selectors.redacted(obj.response_excerpt, obj.target))

    @admin.action(description="Replay the selected deliveries", permissions=["replay"])
    def replay_selected(self, request, queryset):
        count = deliveries_replay(queryset, actor=request.user, request=request)
        skipped = queryset.count() - count
        self.message_user(
            request,
            f"{count} deliver{'ies' if count != 1 else 'y'} queued again"
            + (f"; {skipped} pending or being sent left as they are." if skipped > 0 else "."),
            messages.SUCCESS,
        )


@admin.register(OutboxEvent)
class OutboxEventAdmin(MaskedPayloadAdmin):
    list_display = [
        "id",
        "entity_type",
        "object_id",
        "version",
        "change_type",
        "correlation_id",
        "created_at",
        "dispatched_at",
    ]
    list_filter = ["entity_type", "change_type"]
    search_fields = ["=object_id", "=correlation_id", "=event_id"]
    show_full_result_count = False
    date_hierarchy = "created_at"


@admin.register(KeyMap)
class KeyMapAdmin(ReadOnlyAdmin):
    list_display = [
        "target",
        "entity_type",
        "object_id",
        "target_model",
        "target_ref",
        "external_id",
        "last_version",
        "archived",
    ]
    list_filter = ["target", "entity_type", "archived"]
    search_fields = ["=object_id", "=target_ref", "=external_id"]
    list_select_related = ["target"]
    show_full_result_count = False
    # What the target was last sent (mapped values) may hold a clear bank account number: not shown.
    exclude = ["last_payload"]


@admin.register(Watermark)
class WatermarkAdmin(admin.ModelAdmin):
    """Inbound pull positions; clear ``write_date`` (and ``last_id``) to pull a model again from the start."""

    list_display = ["target", "model", "write_date", "last_id", "last_run_at", "last_count", "last_error"]
    list_filter = ["target"]
    readonly_fields = ["last_run_at", "last_count", "last_error"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["target", "kind", "status", "started_at", "finished_at"]
    list_filter = ["kind", "status", "target"]
    list_select_related = ["target"]
    date_hierarchy = "started_at"
    exclude = ["figures"]
    readonly_fields = ["figures_shown"]

    @admin.display(description="figures")
    def figures_shown(self, obj):
        return _pre(json.dumps(obj.figures, indent=2, ensure_ascii=False))
