from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from mdm.admin_mixins import GoldenAdminMixin
from uom.models import Unit, UnitAlias


class UnitAliasInline(admin.TabularInline):
    model = UnitAlias
    extra = 0
    fields = ["alias", "system"]
    autocomplete_fields = []


@admin.register(Unit)
class UnitAdmin(GoldenAdminMixin, SimpleHistoryAdmin):
    list_display = ["code", "name", "dimension", "unece_code", "ucum_code", "status", "version", "updated_at"]
    list_filter = ["dimension", "status"]
    search_fields = ["code", "name", "unece_code", "ucum_code", "aliases__normalized"]
    inlines = [UnitAliasInline]


@admin.register(UnitAlias)
class UnitAliasAdmin(SimpleHistoryAdmin):
    list_display = ["alias", "unit", "system"]
    list_filter = ["system"]
    search_fields = ["alias", "unit__code"]
    list_select_related = ["unit", "system"]
