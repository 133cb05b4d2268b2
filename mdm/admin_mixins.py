"""Admin behaviour shared by every golden model: no deletes, version shown, fast lists."""

from django.contrib import admin, messages


class GoldenAdminMixin:
    """Golden records are retired, never deleted; lists don't count 100k rows on every page."""

    show_full_result_count = False
    list_per_page = 50
    readonly_fields_golden = ("version", "created_at", "updated_at")
    actions = ["retire_selected"]

    def get_readonly_fields(self, request, obj=None):
        return tuple(super().get_readonly_fields(request, obj)) + self.readonly_fields_golden

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.data.get("_change_reason") or ("admin edit" if change else "admin create")
        super().save_model(request, obj, form, change)

    @admin.action(description="Retire selected records (never deleted)")
    def retire_selected(self, request, queryset):
        from mdm.services.golden import golden_set_status

        count = 0
        for obj in queryset:
            golden_set_status(obj, status="retired", actor=request.user, reason="retired in admin")
            count += 1
        self.message_user(request, f"Retired {count} record(s).", messages.SUCCESS)
