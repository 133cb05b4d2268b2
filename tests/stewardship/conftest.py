"""Records to change: units, items with packaging, suppliers, a contract with prices; a second approver."""

import datetime

import pytest
from guardian.shortcuts import assign_perm

from contracts.services import contract_create, contract_price_create
from items.services import item_create
from mdm import roles
from mdm.models import ApprovalScope
from suppliers.services import supplier_create
from tests.conftest import _user, global_scope
from uom.services import unit_create


@pytest.fixture
def approver2(db):
    user = _user("bea.approver", roles.APPROVER)
    assign_perm("mdm.approve_in_scope", user, global_scope())
    return user


@pytest.fixture
def devices_approver(db):
    """An approver for medical equipment only (UNSPSC segment 42)."""
    user = _user("dee.devices", roles.APPROVER)
    scope = ApprovalScope.objects.create(name="Medical equipment", unspsc_prefix="42", entity_type="item")
    assign_perm("mdm.approve_in_scope", user, scope)
    return user


@pytest.fixture
def units(steward):
    return {
        code: unit_create(code=code, name=name, dimension="count", actor=steward, reason="test")
        for code, name in (("EA", "Each"), ("BX", "Box"), ("CS", "Case"))
    }


@pytest.fixture
def make_item(steward, units):
    def make(description, *, unspsc="42271706", gtins=("", "", ""), part="313-71-015", **extra):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": unspsc,
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1, "gtin": gtins[0]},
                    {"unit": "BX", "quantity": 10, "gtin": gtins[1]},
                    {"unit": "CS", "quantity": 100, "gtin": gtins[2]},
                ],
                **extra,
            },
            actor=steward,
            reason="test",
        )

    return make


@pytest.fixture
def supplier(steward):
    return supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "ein": "36-1234567",
            "duns": "025483210",
            "bank_accounts": [
                {"holder_name": "Medline Industries", "aba_routing": "071000013", "account_number": "12345678901"}
            ],
        },
        actor=steward,
        reason="test",
    )


@pytest.fixture
def contract(steward, supplier):
    return contract_create(
        number="VZ-2026-001",
        supplier=supplier,
        kind="gpo",
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        currency="USD",
        actor=steward,
        reason="test",
    )


@pytest.fixture
def price(steward, contract, units):
    def make(item, amount="10.00", unit="BX"):
        return contract_price_create(
            contract=contract,
            item=item,
            unit=units[unit],
            price=amount,
            start_date=datetime.date(2026, 1, 1),
            end_date=datetime.date(2026, 12, 31),
            actor=steward,
            reason="test",
        )

    return make
