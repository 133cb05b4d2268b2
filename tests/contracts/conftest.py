"""Contracts test data: units, suppliers and items made through their apps' own write paths."""

import datetime as dt

import pytest

from contracts.services import contract_create, contract_price_create
from items.services import item_create
from mdm.choices import LinkMethod
from mdm.models import Crosswalk
from mdm.services.golden import crosswalk_link
from suppliers.services import supplier_create
from uom.services import unit_create

D = dt.date


@pytest.fixture
def units(steward, odoo):
    """EA, BX and CS; odoo-prod calls a case "Case"."""
    return {
        "EA": unit_create(code="EA", name="Each", dimension="count", actor=steward, reason="test"),
        "BX": unit_create(code="BX", name="Box", dimension="count", actor=steward, reason="test"),
        "CS": unit_create(
            code="CS", name="Case", dimension="count", aliases=["Case"], system=odoo, actor=steward, reason="test"
        ),
    }


@pytest.fixture
def make_supplier(steward):
    def make(legal_name="Medline Industries, LP"):
        return supplier_create(data={"legal_name": legal_name}, actor=steward, reason="test")

    return make


@pytest.fixture
def make_item(steward, units):
    counter = iter(range(10_000))

    def make(description=None):
        description = description or f"Glove, exam, nitrile, size {next(counter)}"
        return item_create(
            data={"description": description, "item_type": "med_surg", "base_unit": "EA"}, actor=steward, reason="test"
        )

    return make


@pytest.fixture
def supplier(make_supplier):
    return make_supplier()


@pytest.fixture
def item(make_item):
    return make_item("Glove, exam, nitrile, powder-free, medium")


@pytest.fixture
def make_contract(steward, supplier):
    def make(number="VZ-2025-001", *, supplier=supplier, **extra):
        fields = {
            "kind": "gpo",
            "gpo_name": "Vizient",
            "start_date": D(2025, 1, 1),
            "end_date": D(2027, 12, 31),
            "currency": "USD",
            **extra,
        }
        return contract_create(number=number, supplier=supplier, actor=steward, reason="test", **fields)

    return make


@pytest.fixture
def contract(make_contract):
    return make_contract()


@pytest.fixture
def make_price(request, steward, units):
    """Prices default to the ``contract`` and ``item`` fixtures, made only when a test does not pass its own."""

    def make(price="12.5000", *, contract=None, item=None, unit="BX", **extra):
        fields = {"min_quantity": 1, "start_date": D(2025, 1, 1), "end_date": D(2025, 12, 31), **extra}
        return contract_price_create(
            contract=contract or request.getfixturevalue("contract"),
            item=item or request.getfixturevalue("item"),
            unit=units[unit],
            price=price,
            actor=steward,
            reason="test",
            **fields,
        )

    return make


@pytest.fixture
def link(steward):
    """Link a source identity (system, entity type, external id) to a golden record, as a steward would."""

    def do(system, entity_type, external_id, golden):
        crosswalk, _ = Crosswalk.objects.get_or_create(system=system, entity_type=entity_type, external_id=external_id)
        return crosswalk_link(crosswalk, golden_id=golden.pk, method=LinkMethod.STEWARD, actor=steward)

    return do
