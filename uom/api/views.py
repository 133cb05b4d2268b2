from django.db.models import Prefetch
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from mdm import access
from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin
from uom.api.serializers import (
    ConvertErrorSerializer,
    ConvertQuerySerializer,
    ConvertResultSerializer,
    UnitSerializer,
)
from uom.conversions import ConversionError, format_fraction, item_conversion, packaging_for_item, unit_conversion
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


_CONVERT_PARAMETERS = [
    OpenApiParameter("qty", str, required=True, description="The quantity to convert, a decimal number ('2.5')."),
    OpenApiParameter(
        "from",
        str,
        required=True,
        description="The unit of qty: a hub code (MG, CS), a UN/ECE Rec 20 code (MGM, C62), a Rec 21 code "
        "bare or X-prefixed (BX, XBX), a UCUM code (mg, mg/dL, [iU]/mL) or an alias.",
    ),
    OpenApiParameter("to", str, required=True, description="The unit to convert to (the same forms as 'from')."),
    OpenApiParameter(
        "item",
        int,
        required=False,
        description="An item id: converts between the item's packaging levels (CS -> BX -> EA) and, when the "
        "item has a content per base unit (30 mL per vial), to and from physical units. Needs the view "
        "permission on items.",
    ),
    OpenApiParameter(
        "system",
        str,
        required=False,
        description="A source system name (or a convention: x12, fda) whose unit aliases apply first; "
        "with system=x12, CA is a case, without it CA is the UN/ECE can.",
    ),
]


class _SingleResultSchema(AutoSchema):
    """The convert endpoint answers one object, though it is a router "list" route."""

    def _is_list_view(self, serializer=None):
        return False


class UnitConvertViewSet(viewsets.ViewSet):
    """Convert a quantity between units, or between an item's packaging levels and physical units.

    Exact: the result is a decimal string computed with exact fractions, with the path of factors used.
    """

    queryset = Unit.objects.none()  # for the model permission: reading units needs uom.view_unit
    schema = _SingleResultSchema()

    @extend_schema(
        operation_id="uom_convert",
        parameters=_CONVERT_PARAMETERS,
        responses={200: ConvertResultSerializer, 400: ConvertErrorSerializer, 403: None},
    )
    def list(self, request):
        query = ConvertQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        item_id = data.get("item")
        if item_id is not None and not request.user.has_perm("items.view_item"):
            raise PermissionDenied("Converting with an item needs the permission to view items.")
        system = data.get("system")
        try:
            if item_id is None:
                conversion = unit_conversion(data["qty"], data["from"], data["to"], system=system)
            else:
                if not access.admits(request.user, "item", item_id):  # outside the user's limits: as if absent
                    raise ConversionError("unknown_item", f"There is no item {item_id}.", "item")
                packaging = packaging_for_item(item_id)
                conversion = item_conversion(packaging, data["qty"], data["from"], data["to"], system=system)
        except ConversionError as exc:
            field = exc.field or "non_field_errors"
            return Response(
                {"detail": exc.message, "code": exc.code, "errors": {field: [exc.message]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "quantity": format(conversion.quantity, "f"),
                "exact": conversion.exact,
                "factor": format_fraction(conversion.factor),
                "from": _resolved(data["from"], conversion.from_unit),
                "to": _resolved(data["to"], conversion.to_unit),
                "path": [step.as_dict() for step in conversion.path],
                "item": item_id,
            }
        )


def _resolved(text: str, unit) -> dict:
    return {
        "input": text,
        "code": unit.code,
        "name": unit.name,
        "dimension": unit.dimension,
        "unece_code": unit.unece_code,
        "ucum_code": unit.ucum_code,
    }
