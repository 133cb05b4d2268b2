from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin
from suppliers.api.serializers import SupplierSerializer
from suppliers.filters import SupplierFilterSet
from suppliers.models import Supplier
from suppliers.selectors import supplier_list


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)
class SupplierViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    """Suppliers with identifiers, aliases, addresses, contacts and bank accounts (numbers masked)."""

    queryset = Supplier.objects.all()
    serializer_class = SupplierSerializer
    filterset_class = SupplierFilterSet
    # Identifiers match exactly ("=") so they use their indexes; names are a contains search.
    search_fields = ["legal_name", "aliases__name", "=duns", "=ein"]
    ordering_fields = ["id", "legal_name", "screening_status", "updated_at"]
    ordering = ["legal_name", "id"]
    as_of_prefetch = ("aliases__system", "addresses", "contacts", "bank_accounts")

    def get_base_queryset(self):
        return supplier_list()
