"""Reads for contracts and contract prices."""

import datetime as dt

from django.db.models import Q, QuerySet

from contracts.models import Contract, ContractPrice
from mdm.choices import RecordStatus


def contract_list() -> QuerySet[Contract]:
    """Contracts with their supplier loaded: a constant number of queries for a page."""
    return Contract.objects.select_related("supplier")


def contract_price_list() -> QuerySet[ContractPrice]:
    """Prices with contract, supplier, item and unit loaded: a constant number of queries for a page."""
    return ContractPrice.objects.select_related("contract__supplier", "item", "unit", "base_unit")


def in_effect_on(on_date: dt.date, prefix: str = "") -> Q:
    """Rows whose (inclusive) ``start_date``..``end_date`` contain ``on_date``; ``prefix`` e.g. ``contract__``."""
    return Q(**{f"{prefix}start_date__lte": on_date, f"{prefix}end_date__gte": on_date})


def contract_prices_for_item(item, *, on_date: dt.date, quantity: int = 1) -> QuerySet[ContractPrice]:
    """Active prices of ``item`` that apply on ``on_date`` for an order of ``quantity`` (per price unit).

    Both the price and its contract must be active and in effect. Best (highest) tier first, then
    lowest price.
    """
    return (
        contract_price_list()
        .filter(item=item, status=RecordStatus.ACTIVE, contract__status=RecordStatus.ACTIVE, min_quantity__lte=quantity)
        .filter(in_effect_on(on_date), in_effect_on(on_date, "contract__"))
        .order_by("unit_id", "-min_quantity", "price")
    )
