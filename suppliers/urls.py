"""Steward UI URLs of the suppliers app (mounted at the site root by ``mdm.urls``)."""

from django.urls import path

from suppliers import ui

urlpatterns = [
    path(
        "records/supplier/<int:pk>/bank-accounts/reveal/",
        ui.bank_accounts_reveal_view,
        name="supplier-bank-accounts-reveal",
    ),
]
