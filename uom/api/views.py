from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin
from uom.api.serializers import UnitSerializer
from uom.filters import UnitFilterSet
from uom.models import Unit, UnitAlias


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)
class UnitViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    """Units of measure and packaging units, with their source aliases."""

    queryset = Unit.objects.all()
    serializer_class = UnitSerializer
    filterset_class = UnitFilterSet
    search_fields = ["code", "name", "unece_code", "ucum_code"]
    ordering_fields = ["code", "name", "updated_at"]
    ordering = ["code"]
    as_of_prefetch = ("aliases__system",)

    def get_base_queryset(self):
        return Unit.objects.prefetch_related(Prefetch("aliases", UnitAlias.objects.select_related("system")))
