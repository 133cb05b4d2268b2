from django.db.models import prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.api.serializers import (
    ContractPriceSerializer,
    ContractSerializer,
    PriceCompareQuerySerializer,
    PriceComparisonSerializer,
    PriceLookupErrorSerializer,
    PriceLookupNotFoundSerializer,
    PriceLookupQuerySerializer,
    PriceLookupResultSerializer,
    comparison_body,
    lookup_body,
)
from contracts.filters import ContractFilterSet, ContractPriceFilterSet
from contracts.lookup import PriceLookupError, price_compare, price_lookup
from contracts.models import Contract, ContractPrice
from contracts.selectors import contract_list, contract_price_list
from mdm import access
from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin
from uom.models import Unit

_RULES = (
    "Rules: a price applies when it and its contract are active and the date lies within both their "
    "start and end dates, **both inclusive**. The ordered quantity is converted exactly to each price's "
    "unit through the item's packaging; the highest tier (min_quantity) it reaches on a contract applies. "
    "Precedence: a local agreement over a GPO agreement over a distributor agreement, then the lowest "
    "price per base unit, then the most recent start date, then the lowest price id. Prices per base unit "
    "are compared within one currency. Every candidate is returned with its outcome and why."
)


def _param(name, kind, description, required=False):
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, description=description)


_ITEM = _param("item", OpenApiTypes.INT, "Item id.", required=True)
_DATE = _param("date", OpenApiTypes.DATE, "Order date, YYYY-MM-DD (default today). Dates are inclusive.")
_UNIT = _param("unit", OpenApiTypes.STR, "Unit of qty: the item's base unit (default), a packaging level or a unit.")
_CURRENCY = _param("currency", OpenApiTypes.STR, "ISO 4217 code: needed only when prices in several currencies apply.")


def _admitted_prices(request, item_id: int) -> set[int] | None:
    """The item's price lines the user may see (access limits); None when not limited.

    An item outside the user's limits is refused exactly like an item that does not exist."""
    if not access.admits(request.user, "item", item_id):
        raise PriceLookupError("item", f"There is no item {item_id}.", "unknown_item")
    if not access.is_limited(request.user, "contract_price"):
        return None
    prices = access.limit_queryset(request.user, "contract_price", ContractPrice.objects.filter(item_id=item_id))
    return set(prices.values_list("pk", flat=True))


def _error(exc: PriceLookupError) -> Response:
    return Response(
        {"detail": exc.message, "code": exc.code, "errors": {exc.field: [exc.message]}},
        status=status.HTTP_400_BAD_REQUEST,
    )


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

    @extend_schema(
        operation_id="prices_lookup",
        summary="The price that applies to an order, with the reason",
        description="The applicable price for an item, quantity, unit, date and (optionally) supplier. " + _RULES,
        parameters=[
            _ITEM,
            _param("supplier", OpenApiTypes.INT, "Supplier id; leave out for the best price across suppliers."),
            _param("qty", OpenApiTypes.NUMBER, "Quantity ordered, above zero (default 1), e.g. 250 or 2.5."),
            _UNIT,
            _DATE,
            _CURRENCY,
        ],
        filters=False,
        responses={
            200: PriceLookupResultSerializer,
            400: PriceLookupErrorSerializer,
            403: None,
            404: PriceLookupNotFoundSerializer,
        },
    )
    @action(detail=False, methods=["get"], url_path="lookup", filter_backends=[], pagination_class=None)
    def lookup(self, request):
        query = PriceLookupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            result = price_lookup(
                price_ids=_admitted_prices(request, data["item"]),
                item_id=data["item"],
                quantity=data["qty"],
                unit=data.get("unit"),
                on_date=data.get("date"),
                supplier_id=data.get("supplier"),
                currency=data.get("currency"),
            )
        except PriceLookupError as exc:
            return _error(exc)
        body = lookup_body(result)
        if result.chosen is None:
            return Response(
                {"detail": result.reason, "code": "no_applicable_price", **body}, status=status.HTTP_404_NOT_FOUND
            )
        return Response(body)

    @extend_schema(
        operation_id="prices_compare",
        summary="Compare suppliers' prices for an item per base unit",
        description=(
            "Per supplier, the price the lookup would choose for that supplier, expressed per base unit of the "
            "item; lowest first, with each row's difference from the lowest and the spread (highest - lowest). "
            "Without qty every contract is compared at its entry tier. " + _RULES
        ),
        parameters=[
            _ITEM,
            _param("qty", OpenApiTypes.NUMBER, "Compare for this quantity; leave out to compare entry tiers."),
            _UNIT,
            _DATE,
            _CURRENCY,
        ],
        filters=False,
        responses={200: PriceComparisonSerializer, 400: PriceLookupErrorSerializer, 403: None},
    )
    @action(detail=False, methods=["get"], url_path="compare", filter_backends=[], pagination_class=None)
    def compare(self, request):
        query = PriceCompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            comparison = price_compare(
                price_ids=_admitted_prices(request, data["item"]),
                item_id=data["item"],
                quantity=data.get("qty"),
                unit=data.get("unit"),
                on_date=data.get("date"),
                currency=data.get("currency"),
            )
        except PriceLookupError as exc:
            return _error(exc)
        return Response(comparison_body(comparison))

    def load_page_as_of(self, page, as_of):
        # The contract is a HistoricForeignKey: read the contracts as of the same time, in one query.
        # (Filter on ``id``: on a historical queryset ``pk`` is the history row's id.)
        contracts = {c.pk: c for c in Contract.history.as_of(as_of).filter(id__in={p.contract_id for p in page})}
        field = ContractPrice._meta.get_field("contract")
        for price in page:
            if price.contract_id in contracts:
                field.set_cached_value(price, contracts[price.contract_id])
        prefetch_related_objects(list(contracts.values()), "supplier")
        prefetch_related_objects(page, "item")
        # The price's unit and base unit are both units: one query for the two.
        units = Unit.objects.in_bulk({p.unit_id for p in page} | {p.base_unit_id for p in page if p.base_unit_id})
        for name in ("unit", "base_unit"):
            unit_field = type(page[0])._meta.get_field(name)
            for price in page:
                unit_field.set_cached_value(price, units.get(getattr(price, f"{name}_id")))
