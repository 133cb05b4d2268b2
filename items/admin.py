from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from items.models import Item, ItemPackagingLevel
from items.services import ITEM_FIELDS
from mdm.admin_mixins import GoldenAdminMixin, GovernedChildAdminMixin
from mdm.identifiers import clean_gtin, clean_ndc, clean_udi_di, clean_unspsc


class ItemAdminForm(forms.ModelForm):
    """Stewards may type identifiers as printed (0409-4888-02); they are stored canonical (00409488802)."""

    # Wider than the columns: the printed forms carry hyphens and spaces.
    ndc = forms.CharField(label="NDC", required=False, max_length=16)
    gudid_di = forms.CharField(label="GUDID DI", required=False, max_length=32)
    unspsc = forms.CharField(label="UNSPSC", required=False, max_length=16)

    class Meta:
        model = Item
        fields = list(ITEM_FIELDS)

    def clean_ndc(self):
        return _clean(clean_ndc, self.cleaned_data["ndc"])

    def clean_gudid_di(self):
        return _clean(clean_udi_di, self.cleaned_data["gudid_di"])

    def clean_unspsc(self):
        return _clean(clean_unspsc, self.cleaned_data["unspsc"])


class ItemPackagingLevelForm(forms.ModelForm):
    gtin = forms.CharField(label="GTIN", required=False, max_length=32, help_text="8, 12, 13 or 14 digits.")

    class Meta:
        model = ItemPackagingLevel
        fields = ["item", "level", "unit", "quantity", "gtin"]

    def clean_gtin(self):
        return _clean(clean_gtin, self.cleaned_data["gtin"])


def _clean(clean, value):
    # mdm.identifiers raise Django's ValidationError, which the form shows beside the field.
    value = value.strip()
    return clean(value) if value else ""


class ItemPackagingLevelInline(admin.TabularInline):
    model = ItemPackagingLevel
    form = ItemPackagingLevelForm
    extra = 0
    fields = ["level", "unit", "quantity", "gtin"]
    ordering = ["level"]
    autocomplete_fields = ["unit"]


@admin.register(Item)
class ItemAdmin(GoldenAdminMixin, SimpleHistoryAdmin):
    form = ItemAdminForm
    list_display = [
        "description",
        "manufacturer_name",
        "manufacturer_part_number",
        "item_type",
        "unspsc",
        "base_unit",
        "status",
        "version",
        "updated_at",
    ]
    list_filter = ["status", "item_type", "sterile", "latex_free", "implantable", "prescription"]
    # Identifiers match exactly ("=") so they use their indexes; free text is a contains search.
    search_fields = [
        "description",
        "short_name",
        "manufacturer_name",
        "=manufacturer_part_number",
        "=part_number_key",
        "=unspsc",
        "=ndc",
        "=gudid_di",
        "=packaging_levels__gtin",
    ]
    list_select_related = ["base_unit"]
    autocomplete_fields = ["base_unit"]
    readonly_fields = ["part_number_key"]
    inlines = [ItemPackagingLevelInline]


@admin.register(ItemPackagingLevel)
class ItemPackagingLevelAdmin(GovernedChildAdminMixin, SimpleHistoryAdmin):
    form = ItemPackagingLevelForm
    list_display = ["item", "level", "unit", "quantity", "gtin"]
    list_filter = ["level"]
    search_fields = ["=gtin", "item__description"]
    list_select_related = ["item", "unit"]
    autocomplete_fields = ["item", "unit"]
    show_full_result_count = False
