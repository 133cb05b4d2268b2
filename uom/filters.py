import django_filters

from uom.models import Unit


class UnitFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(lookup_expr="iexact")
    alias = django_filters.CharFilter(field_name="aliases__normalized", method="filter_alias")

    class Meta:
        model = Unit
        fields = ["code", "dimension", "status", "unece_code", "ucum_code"]

    def filter_alias(self, queryset, name, value):
        from uom.models import normalize_alias

        return queryset.filter(aliases__normalized=normalize_alias(value)).distinct()
