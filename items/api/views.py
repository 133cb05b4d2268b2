from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from items.api.serializers import ItemSerializer
from items.filters import ItemFilterSet
from items.models import Item
from items.selectors import item_list
from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)
class ItemViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    """Items with their base unit and packaging hierarchy (GTIN per level, base units per level)."""

    queryset = Item.objects.all()
    serializer_class = ItemSerializer
    filterset_class = ItemFilterSet
    search_fields = ["description", "short_name", "manufacturer_name", "manufacturer_part_number"]
    ordering_fields = ["id", "description", "manufacturer_name", "unspsc", "updated_at"]
    ordering = ["id"]
    as_of_prefetch = ("base_unit", "packaging_levels__unit")

    def get_base_queryset(self):
        return item_list()
