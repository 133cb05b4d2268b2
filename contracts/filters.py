"""Filters for the contracts and prices APIs.

Every filter here reads the record's own columns (or a join from them), so it also works with
``?as_of`` (see ``mdm.api.as_of.AsOfFilterBackend``). Dates are inclusive at both ends.
"""

import django_filters
from django import forms

from contracts.models import Contract, ContractPrice
from contracts.selectors import in_effect_on


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number, or a 400 naming the filter."""

    field_class = forms.IntegerField


class ActiveOnFilter(django_filters.DateFilter):
    """Rows whose start..end dates (both inclusive) contain the given day."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "start_date")
        kwargs.setdefault("label", "In effect on this day (YYYY-MM-DD): start_date <= day <= end_date")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return qs.filter(in_effect_on(value))


class ContractFilterSet(django_filters.FilterSet):
    supplier = IdFilter(field_name="supplier", label="Supplier id")
    number = django_filters.CharFilter(lookup_expr="iexact")
    gpo_name = django_filters.CharFilter(lookup_expr="icontains", label="GPO name contains")
    currency = django_filters.CharFilter(lookup_expr="iexact", label="ISO 4217 currency code")
    facility = django_filters.CharFilter(
        lookup_expr="iexact", label="Facility or business unit (exact, any case); group-wide contracts have none"
    )
    active_on = ActiveOnFilter()
    expires_before = django_filters.DateFilter(
        field_name="end_date", lookup_expr="lt", label="Ends before this day (its end_date is earlier)"
    )
    expires_after = django_filters.DateFilter(
        field_name="end_date", lookup_expr="gt", label="Ends after this day (its end_date is later)"
    )

    class Meta:
        model = Contract
        fields = ["status", "kind"]


class ContractPriceFilterSet(django_filters.FilterSet):
    contract = IdFilter(field_name="contract", label="Contract id")
    item = IdFilter(field_name="item", label="Item id")
    supplier = IdFilter(field_name="contract__supplier", label="Supplier id (of the contract)")
    facility = django_filters.CharFilter(
        field_name="contract__facility", lookup_expr="iexact", label="Facility or business unit of the contract"
    )
    unit = django_filters.CharFilter(field_name="unit__code", lookup_expr="iexact", label="Unit code")
    active_on = ActiveOnFilter()
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    quantity = django_filters.NumberFilter(
        field_name="min_quantity", lookup_expr="lte", label="Tiers that apply to an order of this quantity"
    )

    class Meta:
        model = ContractPrice
        fields = ["status", "min_quantity"]
