"""Filters for the suppliers API; identifier filters take any accepted notation and compare canonical forms."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef

from mdm.identifiers import clean_country, clean_duns, clean_ein, clean_gln, clean_uei, clean_vat
from suppliers.models import Supplier, SupplierAddress


class IdentifierFormField(forms.CharField):
    """Normalizes the query value like the stored value; a malformed one is a 400 naming the filter."""

    def __init__(self, *, normalize, **kwargs):
        self.normalize = normalize
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return self.normalize(value) if value else value


class IdentifierFilter(django_filters.CharFilter):
    field_class = IdentifierFormField


class SupplierFilterSet(django_filters.FilterSet):
    legal_name = django_filters.CharFilter(lookup_expr="icontains")
    duns = IdentifierFilter(normalize=clean_duns, label="D-U-N-S (9 digits, hyphens allowed)")
    uei = IdentifierFilter(normalize=clean_uei, label="SAM.gov UEI")
    ein = IdentifierFilter(normalize=clean_ein, label="EIN (NN-NNNNNNN or 9 digits)")
    gln = IdentifierFilter(normalize=clean_gln, label="GLN of the supplier")
    vat = IdentifierFilter(normalize=clean_vat, label="VAT number with its country prefix")
    # A method filter (not a join) so it is refused with a clear 400 together with as_of, and so a
    # supplier with two addresses in the country is listed once without a DISTINCT over the whole list.
    country = IdentifierFilter(
        field_name="addresses__country",
        normalize=clean_country,
        method="filter_country",
        label="Has an address in this country (ISO 3166 alpha-2)",
    )

    class Meta:
        model = Supplier
        fields = ["status", "screening_status", "legal_name", "duns", "uei", "ein", "gln", "vat", "country"]

    def filter_country(self, queryset, name, value):
        return queryset.filter(Exists(SupplierAddress.objects.filter(supplier=OuterRef("pk"), country=value)))
