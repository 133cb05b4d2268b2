from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from contracts.api.serializers import ContractPriceSerializer, ContractSerializer
from contracts.filters import ContractFilterSet, ContractPriceFilterSet
from contracts.models import Contract, ContractPrice
from contracts.selectors import contract_list, contract_price_list
from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)
class ContractViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    """Contracts with suppliers (GPO, local and distributor agreements). Dates are inclusive.

    A contract's prices are at ``/prices/?contract=<id>``.
    """

    queryset = Contract.objects.all()
    serializer_class = ContractSerializer
    filterset_class = ContractFilterSet
    search_fields = ["number", "gpo_name", "supplier__legal_name"]
    ordering_fields = ["number", "start_date", "end_date", "updated_at"]
    ordering = ["number", "id"]

    def get_base_queryset(self):
        return contract_list()

    def load_page_as_of(self, page, as_of):
        prefetch_related_objects(page, "supplier")


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)
class ContractPriceViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    """Contract prices: an item's price per unit from a minimum quantity (tier), between two inclusive dates.

    With ``?as_of`` a price shows its contract (number, currency) as it was at that time too.
    """

    queryset = ContractPrice.objects.all()
    serializer_class = ContractPriceSerializer
    filterset_class = ContractPriceFilterSet
    search_fields = ["item__description", "contract__number"]
    ordering_fields = ["id", "price", "min_quantity", "start_date", "end_date", "updated_at"]
    ordering = ["id"]

    def get_base_queryset(self):
        return contract_price_list()

    def load_page_as_of(self, page, as_of):
        # The contract is a HistoricForeignKey: read the contracts as of the same time, in one query.
        # (Filter on ``id``: on a historical queryset ``pk`` is the history row's id.)
        contracts = {c.pk: c for c in Contract.history.as_of(as_of).filter(id__in={p.contract_id for p in page})}
        field = ContractPrice._meta.get_field("contract")
        for price in page:
            if price.contract_id in contracts:
                field.set_cached_value(price, contracts[price.contract_id])
        prefetch_related_objects(list(contracts.values()), "supplier")
        prefetch_related_objects(page, "item", "unit")
