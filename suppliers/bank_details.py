"""Unmasked bank details: the only reads that decrypt a supplier's account numbers for a person, each audited.

Everywhere else an account is ``••••1234``. Approvers (``suppliers.reveal_supplierbankaccount``) may see the
full numbers to verify a changed account before approving it, and the payment system's onboarding takes them
as a CSV. Every such read writes an audit row (``bank.view`` per supplier shown, ``bank.export`` per file)
with who, when, from where, under which correlation id and why, in the same call that reads the numbers: the
numbers are never read without the row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

from mdm import access, audit
from mdm.exports import Echo, _cell
from mdm.models import AuditEvent
from suppliers.models import Supplier, SupplierBankAccount

REVEAL_PERM = "suppliers.reveal_supplierbankaccount"
REVEAL_REFUSED = (
    "Unmasked bank account numbers need the permission suppliers.reveal_supplierbankaccount (the approver role); "
    "everyone else sees the last four digits."
)
EXPORT_COLUMNS = [
    "supplier_id",
    "supplier",
    "account_id",
    "holder_name",
    "bank_name",
    "currency",
    "iban",
    "aba_routing",
    "account_number",
    "is_primary",
]
MAX_AUDITED_IDS = 200
"""An export's audit row lists the exported account ids up to this many (the count is always exact)."""


def can_reveal(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(REVEAL_PERM))


def suppliers_for(user) -> QuerySet[Supplier]:
    """The suppliers ``user`` may read, within their access limits (outside them a supplier does not exist)."""
    return access.limit_queryset(user, "supplier", Supplier.objects.all())


def _account(account: SupplierBankAccount) -> dict:
    return {
        "id": account.pk,
        "holder_name": account.holder_name,
        "bank_name": account.bank_name,
        "currency": account.currency,
        "iban": account.iban or "",
        "aba_routing": account.aba_routing,
        "account_number": account.account_number or "",
        "last4": account.last4,
        "is_primary": account.is_primary,
    }


def bank_accounts_reveal(supplier: Supplier, *, request, reason: str = "") -> list[dict]:
    """The supplier's accounts with their full numbers, and the ``bank.view`` audit row that says who saw them.

    The caller has checked ``can_reveal``; ``reason`` is the person's "why" (the UI asks for it).
    """
    accounts = list(SupplierBankAccount.objects.filter(supplier=supplier).order_by("-is_primary", "id"))
    detail = {"accounts": [a.pk for a in accounts], "last4": [a.last4 for a in accounts]}
    if reason:
        detail["reason"] = reason[:500]
    audit.record(AuditEvent.Action.BANK_VIEW, request=request, obj=supplier, detail=detail)
    return [_account(account) for account in accounts]


def bank_accounts_for_export(user, *, supplier_ids=None, primary_only: bool = False, currency: str = ""):
    """The accounts an export holds: of suppliers ``user`` may read, optionally some suppliers, primary, currency."""
    qs = SupplierBankAccount.objects.filter(supplier__in=suppliers_for(user)).select_related("supplier")
    if supplier_ids:
        qs = qs.filter(supplier_id__in=supplier_ids)
    if primary_only:
        qs = qs.filter(is_primary=True)
    if currency:
        qs = qs.filter(currency=currency.upper())
    return qs.order_by("supplier_id", "-is_primary", "id")


def bank_accounts_export(queryset, *, request, filters: dict) -> Iterator[str]:
    """CSV lines (header first) of the accounts with their full numbers, after writing the ``bank.export`` row.

    The row is written before the first line is produced (with the exact row count), so a file never leaves
    the hub unrecorded; cells are formula-safe (a holder name typed as ``=HYPERLINK(...)`` stays text).
    """
    ids = list(queryset.values_list("pk", flat=True))
    audit.record(
        AuditEvent.Action.BANK_EXPORT,
        request=request,
        object_type="suppliers.supplierbankaccount",
        object_repr=f"{len(ids)} bank accounts",
        detail={"rows": len(ids), "filter": filters, "accounts": ids[:MAX_AUDITED_IDS]},
    )
    # An account added while the file streams is not in it (the audit row counted what was there).
    last = max(ids, default=0)
    return _csv_lines(queryset.filter(pk__lte=last))


def _csv_lines(queryset) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for account in queryset.iterator(chunk_size=500):
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    account.supplier_id,
                    account.supplier.legal_name,
                    account.pk,
                    account.holder_name,
                    account.bank_name,
                    account.currency,
                    account.iban or "",
                    account.aba_routing,
                    account.account_number or "",
                    "yes" if account.is_primary else "no",
                )
            ]
        )
