from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, renderers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404  # DRF's: a malformed id is a 404, not a 500
from rest_framework.response import Response

from mdm.api.as_of import AS_OF_PARAMETER, AsOfMixin
from mdm.api.changes import CSVRenderer
from suppliers.api.serializers import SupplierSerializer, UnmaskedBankAccountsSerializer
from suppliers.bank_details import (
    REVEAL_REFUSED,
    bank_accounts_export,
    bank_accounts_for_export,
    bank_accounts_reveal,
    can_reveal,
)
from suppliers.filters import SupplierFilterSet
from suppliers.models import Supplier
from suppliers.selectors import supplier_list


class CanRevealBankAccounts(permissions.BasePermission):
    """Unmasked bank numbers: ``suppliers.reveal_supplierbankaccount`` (approvers), on top of reading suppliers."""

    message = REVEAL_REFUSED

    def has_permission(self, request, view):
        return can_reveal(request.user)


def _supplier_ids(raw: str) -> list[int]:
    ids = []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValidationError({"supplier": [f"'{part}' is not a supplier id; give ids separated by commas."]})
        ids.append(int(part))
    return ids


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

    def get_permissions(self):
        if self.action in ("bank_accounts", "bank_accounts_export"):
            return [*super().get_permissions(), CanRevealBankAccounts()]
        return super().get_permissions()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.action in ("bank_accounts", "bank_accounts_export"):
            add_never_cache_headers(response)  # Cache-Control: no-store, private: no proxy keeps the numbers
        return response

    @extend_schema(
        summary="A supplier's bank accounts, unmasked (audited)",
        description=(
            "The supplier's bank accounts with the full IBAN / account number. Needs "
            "`suppliers.reveal_supplierbankaccount` (the approver role): everyone else gets 403 and sees the last "
            "four digits in the supplier itself. Every call writes a `bank.view` audit row (who, when, address, "
            "correlation id); the response is never cached. An optional `reason` is kept in the row."
        ),
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, description="Why the numbers are needed.")],
        responses={
            200: UnmaskedBankAccountsSerializer,
            403: OpenApiResponse(description="No permission to see unmasked bank details."),
            404: OpenApiResponse(description="No such supplier (or outside your access limits)."),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], url_path="bank-accounts", pagination_class=None, filter_backends=[])
    def bank_accounts(self, request, pk=None):
        supplier = get_object_or_404(self.limit_queryset(Supplier.objects.all()), pk=pk)
        reason = request.query_params.get("reason", "").strip()
        accounts = bank_accounts_reveal(supplier, request=request, reason=reason)
        body = {"supplier": supplier.pk, "legal_name": supplier.legal_name, "accounts": accounts}
        return Response(UnmaskedBankAccountsSerializer(body).data)

    @extend_schema(
        summary="Export unmasked bank accounts as CSV (audited)",
        description=(
            "One row per bank account with the full numbers, for onboarding suppliers in the payment system. "
            "Needs `suppliers.reveal_supplierbankaccount`; writes one `bank.export` audit row with the row count "
            "and the filter before the file is sent. Cells that a spreadsheet would run as a formula are quoted."
        ),
        parameters=[
            OpenApiParameter("supplier", OpenApiTypes.STR, description="Supplier ids, separated by commas."),
            OpenApiParameter("primary_only", OpenApiTypes.BOOL, description="Only each supplier's primary account."),
            OpenApiParameter("currency", OpenApiTypes.STR, description="Only accounts in this currency (ISO 4217)."),
            OpenApiParameter("reason", OpenApiTypes.STR, description="Why the export is needed (kept in the audit)."),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per bank account."),
            400: OpenApiResponse(description="A supplier id that is not a number."),
            403: OpenApiResponse(description="No permission to see unmasked bank details."),
        },
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="bank-accounts/export",
        pagination_class=None,
        filter_backends=[],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
    )
    def bank_accounts_export(self, request):
        params = request.query_params
        supplier_ids = _supplier_ids(params.get("supplier", ""))
        primary_only = params.get("primary_only", "").lower() in ("1", "true", "yes")
        currency = params.get("currency", "").strip()
        filters = {"supplier": supplier_ids, "primary_only": primary_only, "currency": currency.upper()}
        if params.get("reason", "").strip():
            filters["reason"] = params["reason"].strip()[:500]
        qs = bank_accounts_for_export(
            request.user, supplier_ids=supplier_ids, primary_only=primary_only, currency=currency
        )
        response = StreamingHttpResponse(
            bank_accounts_export(qs, request=request, filters=filters), content_type="text/csv; charset=utf-8"
        )
        name = f"supplier-bank-accounts-{timezone.localdate()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
