"""Contracts test data: units, suppliers and items made through their apps' own write paths."""

import datetime as dt

import pytest

from contracts.services import contract_create, contract_price_create
from items.services import item_create
from mdm.choices import LinkMethod
from mdm.models import Crosswalk
from mdm.services.golden import crosswalk_link
from suppliers.services import supplier_create
from uom.models import Unit
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
            unit=units[unit] if unit in units else Unit.objects.get(code=unit),
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


@pytest.fixture
def more_units(steward, units):
    """VL (vial) and ML for items with a content; PK, a pack no item here is packed in."""
    return units | {
        "VL": unit_create(code="VL", name="Vial", dimension="count", actor=steward, reason="test"),
        "ML": unit_create(
            code="ML", name="Millilitre", dimension="volume", ucum_code="mL", actor=steward, reason="test"
        ),
        "PK": unit_create(code="PK", name="Pack", dimension="count", actor=steward, reason="test"),
    }


@pytest.fixture
def make_packed_item(steward, units):
    """Items packed EA -> BX (``per_box`` each) -> CS (``boxes`` boxes), like most gloves and syringes."""
    counter = iter(range(10_000))

    def make(description=None, *, per_box=100, boxes=10, **extra):
        return item_create(
            data={
                "description": description or f"Syringe, luer lock, 10 mL, lot {next(counter)}",
                "item_type": "med_surg",
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1},
                    {"unit": "BX", "quantity": per_box},
                    {"unit": "CS", "quantity": boxes},
                ],
                **extra,
            },
            actor=steward,
            reason="test",
        )

    return make


@pytest.fixture
def packed_item(make_packed_item):
    """Gloves: 100 EA to a box, 10 boxes (1,000 EA) to a case."""
    return make_packed_item("Glove, exam, nitrile, powder-free, large")


@pytest.fixture
def market(make_supplier, make_contract, make_price, packed_item):
    """Gloves (100 EA a box, 10 boxes a case) priced by three suppliers under three kinds of agreement.

    - Medline, GPO contract VZ-1 for 2025: 10.00 per BX from 1 BX, 9.50 per BX from 10 BX, 90.00 per CS.
    - Cardinal, distributor contract D-1 for 2025: 0.08 per EA (the cheapest per each).
    - Owens & Minor, local agreement L-1 from March to June 2025: 98.00 per CS from 2 CS.
    """
    medline, cardinal, owens = (
        make_supplier("Medline Industries, LP"),
        make_supplier("Cardinal Health"),
        make_supplier("Owens & Minor"),
    )
    gpo = make_contract("VZ-1", supplier=medline, kind="gpo")
    distributor = make_contract("D-1", supplier=cardinal, kind="distributor", gpo_name="")
    local = make_contract("L-1", supplier=owens, kind="local", gpo_name="")
    prices = {
        "gpo_box": make_price("10.00", contract=gpo, item=packed_item, unit="BX"),
        "gpo_box_10": make_price("9.50", contract=gpo, item=packed_item, unit="BX", min_quantity=10),
        "gpo_case": make_price("90.00", contract=gpo, item=packed_item, unit="CS"),
        "distributor_each": make_price("0.08", contract=distributor, item=packed_item, unit="EA"),
        "local_case_2": make_price(
            "98.00",
            contract=local,
            item=packed_item,
            unit="CS",
            min_quantity=2,
            start_date=D(2025, 3, 1),
            end_date=D(2025, 6, 30),
        ),
    }
    return {"item": packed_item, "medline": medline, "cardinal": cardinal, "owens": owens, **prices}
