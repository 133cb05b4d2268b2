"""Reads for suppliers."""

from django.db.models import Prefetch, QuerySet

from suppliers.models import Supplier, SupplierAlias, SupplierBankAccount


def supplier_list() -> QuerySet[Supplier]:
    """Suppliers with aliases, addresses, contacts and bank accounts loaded: a constant number of queries.

    Bank accounts come without their encrypted columns: lists only ever show ``last4``, so nothing is
    decrypted (or held in memory in clear) to render them.
    """
    return Supplier.objects.prefetch_related(
        Prefetch("aliases", SupplierAlias.objects.select_related("system")),
        "addresses",
        "contacts",
        Prefetch("bank_accounts", SupplierBankAccount.objects.defer("iban", "account_number")),
    )
