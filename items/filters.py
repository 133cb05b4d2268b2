"""Filters for the items API; identifier filters take any accepted notation and compare canonical forms."""

import django_filters
from django import forms
from django.core.validators import RegexValidator

from items.models import Item
from mdm.identifiers import clean_gtin, clean_ndc, clean_udi_di


class _IdentifierFormField(forms.CharField):
    """Normalizes the query value like the stored value; a malformed one is a 400 naming the filter."""

    normalize = staticmethod(lambda value: value)

    def clean(self, value):
        value = super().clean(value)
        return self.normalize(value) if value else value


class _GTINFormField(_IdentifierFormField):
    normalize = staticmethod(clean_gtin)


class _NDCFormField(_IdentifierFormField):
    normalize = staticmethod(clean_ndc)


class _UDIFormField(_IdentifierFormField):
    normalize = staticmethod(clean_udi_di)


class GTINFilter(django_filters.CharFilter):
    field_class = _GTINFormField


class NDCFilter(django_filters.CharFilter):
    field_class = _NDCFormField


class UDIFilter(django_filters.CharFilter):
    field_class = _UDIFormField


class ItemFilterSet(django_filters.FilterSet):
    unspsc_segment = django_filters.CharFilter(
        field_name="unspsc",
        lookup_expr="startswith",
        validators=[RegexValidator(r"^\d{2}$", "A UNSPSC segment is the first 2 digits, e.g. 42.")],
        label="UNSPSC segment (2 digits)",
    )
    unspsc_family = django_filters.CharFilter(
        field_name="unspsc",
        lookup_expr="startswith",
        validators=[RegexValidator(r"^\d{4}$", "A UNSPSC family is the first 4 digits, e.g. 4229.")],
        label="UNSPSC family (4 digits)",
    )
    manufacturer = django_filters.CharFilter(field_name="manufacturer_name", lookup_expr="icontains")
    sterile = django_filters.BooleanFilter()
    latex_free = django_filters.BooleanFilter()
    implantable = django_filters.BooleanFilter()
    prescription = django_filters.BooleanFilter()
    # GTINs are unique across packaging levels, so this join yields at most one row per item: no distinct.
    gtin = GTINFilter(field_name="packaging_levels__gtin", label="GTIN of any packaging level (8/12/13/14 digits)")
    ndc = NDCFilter(field_name="ndc", label="NDC, 10-digit hyphenated or 11-digit")
    gudid_di = UDIFilter(field_name="gudid_di", label="GUDID primary DI")
    base_unit = django_filters.CharFilter(field_name="base_unit__code", lookup_expr="iexact")

    class Meta:
        model = Item
        fields = ["status", "item_type", "unspsc"]
