"""Admin for access limits (``mdm.access``): who sees only part of an entity type, and which part.

Every create, change and delete leaves an audit row (``access_limit.change``) with the values before and after.
Registered from ``mdm.admin``.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from mdm import audit, registry
from mdm.access import clean_limit, limitable_types
from mdm.models import AccessLimit, AuditEvent


def _attributes_text() -> str:
    return "; ".join(f"{entity_type}: {', '.join(names)}" for entity_type, names in limitable_types().items())


class ValuesField(forms.CharField):
    """The limit's values, one per line (a facility name may hold commas); stored as a JSON list."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 40})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]


class AccessLimitForm(forms.ModelForm):
    values = ValuesField(
        help_text="One value per line; a record with any of them is seen. Categories are UNSPSC prefixes "
        "(42, 4213, 421317...); facilities are names as contracts carry them (group-wide contracts are always seen)."
    )

    class Meta:
        model = AccessLimit
        fields = ["name", "user", "group", "entity_type", "attribute", "values"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "---------")] + [
            (entity_type, f"{registry.get(entity_type).label} ({entity_type})") for entity_type in limitable_types()
        ]
        current = self.initial.get("entity_type")
        if current and current not in dict(choices):  # a row from before a type stopped declaring attributes
            choices.append((current, f"{current} (no longer limitable)"))
        self.fields["entity_type"] = forms.ChoiceField(
            choices=choices, help_text="The entity type the limit applies to."
        )
        self.fields["attribute"].help_text = f"An attribute the entity type declares: {_attributes_text()}."

    def clean(self):
        data = super().clean()
        user, group = data.get("user"), data.get("group")
        if bool(user) == bool(group):
            raise ValidationError(
                "Choose either a user or a group: a limit applies to one person or to every member of one group."
            )
        entity_type, attribute = data.get("entity_type"), data.get("attribute")
        if entity_type and attribute and "values" in data:
            try:
                data["values"] = clean_limit(entity_type, attribute.strip(), data["values"])
                data["attribute"] = attribute.strip()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data


def _snapshot(limit: AccessLimit) -> dict:
    return {
        "name": limit.name,
        "user": limit.user.get_username() if limit.user_id else None,
        "group": limit.group.name if limit.group_id else None,
        "entity_type": limit.entity_type,
        "attribute": limit.attribute,
        "values": list(limit.values or []),
    }


@admin.register(AccessLimit)
class AccessLimitAdmin(admin.ModelAdmin):
    form = AccessLimitForm
    list_display = ["name", "user", "group", "entity_type", "attribute", "values_text", "created_at"]
    list_filter = ["entity_type", "attribute"]
    search_fields = ["name", "user__username", "group__name"]
    list_select_related = ["user", "group"]
    autocomplete_fields = ["user", "group"]

    @admin.display(description="Values")
    def values_text(self, obj):
        return ", ".join(str(value) for value in obj.values or [])

    def save_model(self, request, obj, form, change):
        before = _snapshot(AccessLimit.objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        detail = {"operation": "update" if change else "create", "after": _snapshot(obj)}
        if before is not None:
            detail["before"] = before
        audit.record(AuditEvent.Action.ACCESS_LIMIT_CHANGE, request=request, obj=obj, detail=detail)

    def delete_model(self, request, obj):
        self._audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit_delete(request, obj)
        super().delete_queryset(request, queryset)

    def _audit_delete(self, request, obj):
        detail = {"operation": "delete", "before": _snapshot(obj)}
        audit.record(AuditEvent.Action.ACCESS_LIMIT_CHANGE, request=request, obj=obj, detail=detail)
