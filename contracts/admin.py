from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from contracts.models import Contract, ContractPrice
from contracts.selectors import in_effect_on
from mdm.admin_mixins import GoldenAdminMixin


class TermListFilter(admin.SimpleListFilter):
    """Pending / in effect / expired today, from the (inclusive) dates."""

    title = "term (today)"
    parameter_name = "term"

    def lookups(self, request, model_admin):
        return [("pending", "Not started yet"), ("in_effect", "In effect"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "pending":
            return queryset.filter(start_date__gt=today)
        if self.value() == "in_effect":
            return queryset.filter(in_effect_on(today))
        if self.value() == "expired":
            return queryset.filter(end_date__lt=today)
        return queryset


@admin.register(Contract)
class ContractAdmin(GoldenAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "number",
        "supplier",
        "kind",
        "gpo_name",
        "facility",
        "start_date",
        "end_date",
        "currency",
        "status",
        "version",
        "updated_at",
    ]
    list_filter = ["status", "kind", TermListFilter, "currency", "facility"]
    search_fields = ["number", "gpo_name", "facility", "supplier__legal_name"]
    list_select_related = ["supplier"]
    # Suppliers and contracts are big tables: a raw id widget, never a <select> of every row.
    raw_id_fields = ["supplier"]
    readonly_fields = ["price_list"]

    # No price inline: a GPO contract can carry tens of thousands of prices. Link to the filtered list.
    @admin.display(description="Prices")
    def price_list(self, obj):
        if obj is None or obj.pk is None:
            return "Save the contract first."
        url = reverse("admin:contracts_contractprice_changelist") + f"?contract__id__exact={obj.pk}"
        return format_html('<a href="{}">{} price(s) on this contract</a>', url, obj.prices.count())


@admin.register(ContractPrice)
class ContractPriceAdmin(GoldenAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "id",
        "contract",
        "supplier",
        "item",
        "unit",
        "price",
        "price_per_base_unit",
        "base_unit",
        "min_quantity",
        "start_date",
        "end_date",
        "status",
        "version",
    ]
    list_filter = ["status", TermListFilter, "contract__kind", "contract__currency", "contract__facility"]
    search_fields = ["contract__number", "item__description"]
    list_select_related = ["contract", "contract__supplier", "item", "unit", "base_unit"]
    raw_id_fields = ["contract", "item"]
    autocomplete_fields = ["unit"]
    # Computed from the item's packaging on every save (ContractPrice.save); shown, never typed in.
    readonly_fields = ["price_per_base_unit", "base_unit"]

    @admin.display(description="Supplier", ordering="contract__supplier__legal_name")
    def supplier(self, obj):
        return obj.contract.supplier
