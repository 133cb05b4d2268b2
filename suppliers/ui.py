"""Steward UI pages of the suppliers app: a supplier's bank accounts with their full numbers, on request.

The record page (``mdm.ui.records``) shows accounts masked and, to holders of
``suppliers.reveal_supplierbankaccount``, a "Show account numbers" form (``templates/suppliers/record_panel.html``)
that asks why. It posts here: a POST, so the read is a deliberate act protected by CSRF and never prefetched or
replayed from history; the page is not cached anywhere (``Cache-Control: no-store``), and every showing writes a
``bank.view`` audit row.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from suppliers.bank_details import REVEAL_REFUSED, bank_accounts_reveal, can_reveal, suppliers_for


class RevealForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        strip=True,
        error_messages={"required": "Say why you need the full account numbers (it is kept in the audit log)."},
    )


@never_cache
@login_required
@require_POST
def bank_accounts_reveal_view(request, pk: int):
    """The supplier's accounts unmasked, for an approver who said why; 403 for everyone else (and no audit row)."""
    if not can_reveal(request.user):
        return render(request, "mdm/records/403.html", {"message": REVEAL_REFUSED}, status=403)
    if not request.user.has_perm("suppliers.view_supplier"):
        raise PermissionDenied("You may not read supplier records.")
    supplier = get_object_or_404(suppliers_for(request.user), pk=pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = {"supplier": supplier, "form": form, "accounts": None}
        return render(request, "suppliers/bank_accounts_reveal.html", context, status=400)
    accounts = bank_accounts_reveal(supplier, request=request, reason=form.cleaned_data["reason"])
    context = {"supplier": supplier, "form": form, "accounts": accounts, "reason": form.cleaned_data["reason"]}
    # ``never_cache`` adds ``Cache-Control: no-store, private``: no proxy or back button keeps the numbers.
    return render(request, "suppliers/bank_accounts_reveal.html", context)
